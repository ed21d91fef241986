from wmidoctor.cli import main

main()
