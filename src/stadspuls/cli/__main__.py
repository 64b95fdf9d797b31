from stadspuls.cli.main import main

main()
