from northstar.cli import main

main()
