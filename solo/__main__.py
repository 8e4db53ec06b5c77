from solo.launch import main

raise SystemExit(main())
