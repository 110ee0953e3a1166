from tktctl.cli import main

main()
