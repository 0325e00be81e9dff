import Hummingbird
import HummingbirdTLS
import Mustache
import Prometheus

let router = Router()
router.get("/health") { _, _ in "ok" }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8089)))
try await app.runService()
