import Foundation
import SatchelCLI

let status = await SatchelCommand.runMain()
exit(status)
