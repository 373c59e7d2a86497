from registry_tui.cli import main

main()
