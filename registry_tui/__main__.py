from registry_tui.cli.app import main

main()
