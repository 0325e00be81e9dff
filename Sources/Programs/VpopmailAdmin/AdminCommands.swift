/// Every administration command, in upstream's order. The multi-call executable dispatches from
/// this list, and `vpopmail --commands` prints it for install.sh and the tests.
enum AdminCommands {
    nonisolated(unsafe) static let all: [any AdminCommand.Type] = [
        Vadddomain.self, Vdeldomain.self, Vaddaliasdomain.self, Vdominfo.self,
        Vadduser.self, Vdeluser.self, Vpasswd.self, Vsetuserquota.self, Vmoduser.self, Vuserinfo.self,
        Valias.self, Vmoddomlimits.self, Vipmap.self, Vpopbull.self, Vdeloldusers.self, Vmkpasswd.self,
        Clearopensmtp.self, Vconvert.self, Vaudit.self, Vapikey.self, Vvacation.self,
    ]
}
