extension Directory {
    /// Canonical order of children: `settings`, then every `staff`, `distributionList`, `patient`,
    /// `portalUser` in that order, each group in list order.
    public func encode(to w: CanonicalWriter) throws {
        try w.start("directory")
        try w.start("settings", [("defaultAllowReplies", String(settings.defaultAllowReplies))])
        for label in settings.labels {
            try w.empty("label", [("key", label.key), ("value", label.value)])
        }
        for t in settings.notificationTemplates {
            try w.textElement("notificationTemplate", [("channel", t.channel.rawValue), ("id", t.id)], t.text)
        }
        for t in settings.messageTemplates {
            try w.textElement("messageTemplate", [("id", t.id), ("subject", t.subject)], t.body)
        }
        try w.end()
        for s in staff {
            // `notify` is written only when not the default, so v1 directories keep their bytes.
            try w.start("staff", [("cell", s.cell), ("email", s.email), ("id", s.id), ("name", s.name),
                                  ("notify", s.notify == .both ? nil : s.notify.rawValue)])
            for p in s.permissions { try w.empty("permission", [("name", p.rawValue)]) }
            try w.end()
        }
        for list in distributionLists {
            try w.start("distributionList", [("id", list.id), ("name", list.name)])
            for m in list.members { try w.empty("member", [("staff", m)]) }
            try w.end()
        }
        for p in patients {
            try w.empty("patient", [("cell", p.cell), ("email", p.email), ("id", p.id), ("name", p.name),
                                    ("portalAccess", String(p.portalAccess)), ("status", p.status.rawValue)])
        }
        for u in portalUsers {
            try w.empty("portalUser", [("active", String(u.active)), ("cell", u.cell), ("email", u.email),
                                       ("id", u.id), ("name", u.name),
                                       ("notify", u.notify == .both ? nil : u.notify.rawValue),
                                       ("patient", u.patient), ("role", u.role.rawValue)])
        }
        try w.end()
    }

    public init(element: ManifestElement) throws(ManifestError) {
        let ns = Self.vocabulary.namespace
        let r = try ElementReader(element, name: "directory", namespace: ns)
        try r.finish()
        var settingsElement = SingleChild()
        self.init()
        var positions = Positions()
        for child in try r.children(namespace: ns) {
            var c = try ElementReader(child, name: child.name, namespace: ns)
            let at = (child.line, child.column)
            switch child.name {
            case "settings":
                try settingsElement.set(child)
                settings = try Self.decodeSettings(&c, ns)
            case "staff":
                var member = Staff(id: try c.string("id"), name: try c.string("name"),
                                   email: c.optionalString("email"), cell: c.optionalString("cell"),
                                   notify: try c.optionalValue("notify") ?? .both)
                for p in try c.children(namespace: ns) {
                    guard p.name == "permission" else { throw p.unexpectedChild() }
                    var pr = try ElementReader(p, name: "permission", namespace: ns)
                    member.permissions.append(Permission(rawValue: try pr.string("name")))
                    try pr.finish()
                }
                staff.append(member)
                positions.staff.append(at)
            case "distributionList":
                var list = DistributionList(id: try c.string("id"), name: try c.string("name"))
                for m in try c.children(namespace: ns) {
                    guard m.name == "member" else { throw m.unexpectedChild() }
                    var mr = try ElementReader(m, name: "member", namespace: ns)
                    list.members.append(try mr.string("staff"))
                    try mr.finish()
                    positions.members.append((m.line, m.column))
                }
                distributionLists.append(list)
                positions.lists.append(at)
            case "patient":
                patients.append(Patient(
                    id: try c.string("id"), name: try c.string("name"), status: try c.value("status"),
                    email: c.optionalString("email"), cell: c.optionalString("cell"),
                    portalAccess: try c.bool("portalAccess")))
                positions.patients.append(at)
            case "portalUser":
                portalUsers.append(PortalUser(
                    id: try c.string("id"), patient: try c.string("patient"), role: try c.value("role"),
                    active: try c.bool("active"), name: try c.string("name"),
                    email: c.optionalString("email"), cell: c.optionalString("cell"),
                    notify: try c.optionalValue("notify") ?? .both))
                positions.portalUsers.append(at)
            default:
                throw child.unexpectedChild()
            }
            try c.finish()
            if child.name == "patient" || child.name == "portalUser", let extra = child.children.first {
                throw extra.unexpectedChild()
            }
        }
        _ = try settingsElement.required(in: element, "settings")
        try checkReferences(positions)
    }

    private static func decodeSettings(_ c: inout ElementReader, _ ns: String) throws(ManifestError) -> Settings {
        var settings = Settings(defaultAllowReplies: try c.bool("defaultAllowReplies"))
        for child in try c.children(namespace: ns) {
            var t = try ElementReader(child, name: child.name, namespace: ns)
            switch child.name {
            case "label":
                settings.labels.append(Label(key: try t.string("key"), value: try t.string("value")))
                try t.finish()
                if let extra = child.children.first { throw extra.unexpectedChild() }
            case "notificationTemplate":
                settings.notificationTemplates.append(NotificationTemplate(
                    id: try t.string("id"), channel: try t.value("channel"), text: try t.textOnly()))
                try t.finish(textAllowed: true)
            case "messageTemplate":
                settings.messageTemplates.append(MessageTemplate(
                    id: try t.string("id"), subject: try t.string("subject"), body: try t.textOnly()))
                try t.finish(textAllowed: true)
            default:
                throw child.unexpectedChild()
            }
        }
        return settings
    }
}
