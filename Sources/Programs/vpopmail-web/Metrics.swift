// /metrics (Prometheus text format): this server's requests and their latency from
// swift-prometheus, and the counters every program adds to (etc/counters: logins by service and
// result, deliveries by result, vacation replies, app-password logins), with the number of
// addresses and logins the throttle refuses now.
import Foundation
import Hummingbird
import Prometheus
import Synchronization
import VpopmailCore

final class Metrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let counters = Mutex<[String: Prometheus.Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    static let buckets: [Duration] = [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                                      .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1)]

    func record(method: String, route: String, status: Int, api: Bool, seconds: Duration) {
        let kind = api ? "api" : "web"
        let labels = [("kind", kind), ("method", method), ("route", route), ("status", "\(status)")]
        let key = labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let c = counters.withLock { t in
            if let c = t[key] { return c }
            let c = registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "vpopmail", metricName: "http_requests", unitName: "total",
                                                                          helpText: "HTTP requests by kind (api or web), method, route and status"),
                                         labels: labels)
            t[key] = c
            return c
        }
        c.increment()
        let hkey = "\(kind) \(method) \(route)"
        let h = histograms.withLock { t in
            if let h = t[hkey] { return h }
            let h = registry.makeDurationHistogram(descriptor: MetricNameDescriptor(namespace: "vpopmail", metricName: "http_request_duration", unitName: "seconds",
                                                                                    helpText: "HTTP request latency by kind, method and route"),
                                                   labels: [("kind", kind), ("method", method), ("route", route)], buckets: Metrics.buckets)
            t[hkey] = h
            return h
        }
        h.record(seconds)
    }

    func text(home: String, throttle: Throttle) -> String {
        var out = registry.emitToString()
        let values = Counters.read(home: home)
        var byMetric: [String: [(labels: [(String, String)], value: UInt64)]] = [:]
        var order: [String] = []
        for c in Counter.allCases {
            let (m, labels) = c.labels
            if byMetric[m] == nil { order.append(m) }
            byMetric[m, default: []].append((labels, values[c] ?? 0))
        }
        let help = ["vpopmail_logins_total": "Logins by service (pop, imap, smtp, webmail, web, vpopmaild) and result",
                    "vpopmail_deliveries_total": "Messages vdelivermail delivered, bounced or deferred",
                    "vpopmail_vacation_replies_total": "Vacation replies sent",
                    "vpopmail_app_password_logins_total": "Logins with an app password"]
        for m in order {
            out += "# HELP \(m) \(help[m] ?? m)\n# TYPE \(m) counter\n"
            for e in byMetric[m] ?? [] {
                let l = e.labels.isEmpty ? "" : "{" + e.labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
                out += "\(m)\(l) \(e.value)\n"
            }
        }
        out += "# HELP vpopmail_bounces_total Messages bounced\n# TYPE vpopmail_bounces_total counter\nvpopmail_bounces_total \(values[.bounced] ?? 0)\n"
        out += "# HELP vpopmail_throttled_keys Client addresses and logins refused now for too many failures\n# TYPE vpopmail_throttled_keys gauge\n"
        out += "vpopmail_throttled_keys \(throttle.policy.enabled ? throttle.refusedKeys(now: Int(time(nil))) : 0)\n"
        return out
    }
}
