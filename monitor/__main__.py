from monitor.entry import main

raise SystemExit(main())
