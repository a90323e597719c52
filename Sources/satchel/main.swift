import SatchelCLI
await SatchelCommand.main()
