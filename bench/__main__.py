from bench import startup

startup.main()
