// The web admin's pages, Mustache templates ({{x}} is HTML-escaped everywhere; no page uses
// {{{x}}} with what a user typed). Each page includes the header and footer partials.
import Mustache

enum Templates {
    static let all: [String: String] = [
        "header": header, "footer": footer, "login": login, "code": code, "domains": domains, "domain": domain,
        "user": user, "me": me, "audit": audit, "keys": keys, "message": message,
    ]

    static func library() throws -> MustacheLibrary {
        var t: [String: MustacheTemplate] = [:]
        for (name, text) in all { t[name] = try MustacheTemplate(string: text) }
        return MustacheLibrary(templates: t)
    }

    static let css = """
    *{box-sizing:border-box}body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f4f6f8}
    header{background:#243447;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}
    header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:.9rem;opacity:.85}
    header form{display:inline}header button{background:none;border:1px solid #fff6;color:#fff;padding:.2rem .6rem;border-radius:4px}
    main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
    section{background:#fff;border-radius:8px;padding:1rem;margin:1rem 0;box-shadow:0 1px 2px #0001}
    table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.45rem;border-bottom:1px solid #e3e7eb;vertical-align:top}
    label{display:block;margin:.5rem 0 .2rem;font-weight:600}input,textarea,select{width:100%;padding:.5rem;font:inherit;border:1px solid #b8c2cc;border-radius:4px}
    input[type=checkbox]{width:auto}textarea{min-height:7rem}
    button{background:#2f6fb3;color:#fff;border:0;border-radius:4px;padding:.55rem 1rem;font:inherit;margin-top:.6rem;cursor:pointer}
    button.danger{background:#b3362f}.inline{display:inline}.inline button{margin:0;padding:.3rem .7rem}
    .error{background:#fde8e7;border:1px solid #e9a19c;padding:.6rem;border-radius:4px}.notice{background:#e7f5ea;border:1px solid #9bd1a6;padding:.6rem;border-radius:4px}
    .secret{font-family:ui-monospace,monospace;font-size:1.15rem;letter-spacing:.05em;background:#fff7dc;padding:.5rem;border-radius:4px;word-break:break-all}
    .muted{color:#5d6b78;font-size:.9rem}code{word-break:break-all}
    @media (max-width:40rem){td,th{display:block;border:0;padding:.2rem}tr{display:block;border-bottom:1px solid #e3e7eb;padding:.4rem 0}thead{display:none}}
    """

    static let header = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · vpopmail</title><link rel="stylesheet" href="/static/style.css"></head><body>
    <header><a href="/"><strong>vpopmail</strong></a>
    {{#session}}{{#isSuper}}<a href="/domains">Domains</a><a href="/api-keys">API keys</a>{{/isSuper}}{{#isDomainAdmin}}<a href="/domains/{{domain}}">{{domain}}</a>{{/isDomainAdmin}}{{#isAdmin}}<a href="/audit">Audit</a>{{/isAdmin}}<a href="/me">My account</a>
    <span class="who">{{address}}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button>Log out</button></form>{{/session}}
    </header><main>
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}{{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    """

    static let footer = "</main></body></html>\n"

    static let login = """
    {{> header}}<h1>Log in</h1><section><form method="post" action="/login">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <label for="address">Email address</label><input id="address" name="address" type="email" autocomplete="username" required value="{{address}}">
    <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
    <button id="login">Log in</button></form></section>{{> footer}}
    """

    static let code = """
    {{> header}}<h1>Second factor</h1><section><form method="post" action="/login/code">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <label for="code">The 6-digit code from your authenticator app, or a recovery code</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
    <button id="verify">Verify</button></form></section>{{> footer}}
    """

    static let domains = """
    {{> header}}<h1>Domains</h1>
    <section><form method="get" action="/domains"><label for="q">Search</label><input id="q" name="q" value="{{q}}"></form>
    <table><thead><tr><th>Domain</th><th>Alias domains</th></tr></thead><tbody>
    {{#items}}<tr><td><a href="/domains/{{name}}">{{name}}</a></td><td>{{aliases}}</td></tr>{{/items}}
    {{^items}}<tr><td colspan="2" class="muted">No domains.</td></tr>{{/items}}</tbody></table></section>
    <section><h2>Add a domain</h2><form method="post" action="/domains"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="name">Domain name</label><input id="name" name="name" required>
    <label for="pm">Postmaster password</label><input id="pm" name="password" type="password" autocomplete="new-password" required>
    <button id="add-domain">Add domain</button></form></section>{{> footer}}
    """

    static let domain = """
    {{> header}}<h1>{{name}}</h1><p class="muted">{{users}} accounts{{#aliasDomains}} · alias domains: {{aliasDomains}}{{/aliasDomains}}</p>
    <section><h2>Accounts</h2><form method="get" action="/domains/{{name}}"><label for="q">Search</label><input id="q" name="q" value="{{q}}"></form>
    <table><thead><tr><th>Account</th><th>Name</th><th>Quota</th></tr></thead><tbody>
    {{#items}}<tr><td><a href="/domains/{{domain}}/users/{{name}}">{{name}}</a></td><td>{{gecos}}</td><td>{{quota}}</td></tr>{{/items}}
    {{^items}}<tr><td colspan="3" class="muted">No accounts match.</td></tr>{{/items}}</tbody></table>
    <p>{{#prev}}<a href="{{prev}}">&larr; previous</a> {{/prev}}{{#next}}<a href="{{next}}">next &rarr;</a>{{/next}}</p></section>
    <section><h2>Add an account</h2><form method="post" action="/domains/{{name}}/users"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="user">Account name</label><input id="user" name="user" required autocapitalize="none">
    <label for="gecos">Full name</label><input id="gecos" name="gecos">
    <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
    <label for="quota">Quota (e.g. 500M; empty for the domain's default)</label><input id="quota" name="quota">
    <button id="add-user">Add account</button></form></section>
    <section><h2>Aliases and forwards</h2><table><tbody>{{#aliases}}<tr><td>{{name}}@{{domain}}</td><td>{{lines}}</td>
    <td><form class="inline" method="post" action="/domains/{{domain}}/aliases/{{name}}/delete"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger" id="delete-alias-{{name}}">Delete</button></form></td></tr>{{/aliases}}
    {{^aliases}}<tr><td class="muted">None.</td></tr>{{/aliases}}</tbody></table>
    <form method="post" action="/domains/{{name}}/aliases"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="alias">Alias name</label><input id="alias" name="alias" required autocapitalize="none">
    <label for="alias-to">Delivers to (addresses, one per line)</label><textarea id="alias-to" name="to" required></textarea>
    <button id="add-alias">Add alias</button></form></section>
    {{#session.isSuper}}<section><h2>Alias domains</h2><form method="post" action="/domains/{{name}}/alias-domains"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="alias-domain">Alias domain (mail to it goes to {{name}})</label><input id="alias-domain" name="alias" required>
    <button id="add-alias-domain">Add alias domain</button></form></section>
    <section><h2>Delete the domain</h2><form method="post" action="/domains/{{name}}/delete"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label><input type="checkbox" name="confirm" value="yes" required> Delete {{name}}, its accounts and their mail</label>
    <button class="danger" id="delete-domain">Delete domain</button></form></section>{{/session.isSuper}}{{> footer}}
    """

    static let user = """
    {{> header}}<h1>{{address}}</h1>
    <section><table><tbody><tr><th>Name</th><td>{{gecos}}</td></tr><tr><th>Quota</th><td>{{quota}} ({{usage}} used)</td></tr>
    <tr><th>Last login</th><td>{{lastLogin}}</td></tr><tr><th>Second factor</th><td>{{secondFactor}}</td></tr>
    <tr><th>Vacation</th><td>{{vacation}}</td></tr></tbody></table></section>
    <section><h2>Set the password</h2><form method="post" action="/domains/{{domain}}/users/{{name}}/password"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
    <button id="set-password">Set password</button></form></section>
    <section><h2>Quota</h2><form method="post" action="/domains/{{domain}}/users/{{name}}/quota"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="quota">Quota (e.g. 500M, NOQUOTA)</label><input id="quota" name="quota" value="{{quota}}"><button id="set-quota">Set quota</button></form></section>
    <section><h2>Delete</h2><form method="post" action="/domains/{{domain}}/users/{{name}}/delete"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label><input type="checkbox" name="confirm" value="yes" required> Delete {{address}} and its mail</label><button class="danger" id="delete-user">Delete account</button></form></section>{{> footer}}
    """

    static let me = """
    {{> header}}<h1>My account</h1><p class="muted">{{address}}</p>
    {{#shown}}<section><h2>{{title}}</h2><p>{{text}}</p><p class="secret" id="shown-secret">{{secret}}</p>{{#uri}}<p class="muted">Or open: <code id="otpauth-uri">{{uri}}</code></p>{{/uri}}
    {{#hasCodes}}<p>Recovery codes, each good once (keep them somewhere safe):</p><ul id="recovery-codes">{{#codes}}<li class="secret">{{.}}</li>{{/codes}}</ul>{{/hasCodes}}</section>{{/shown}}
    <section><h2>Password</h2><form method="post" action="/me/password"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required>
    <label for="new">New password</label><input id="new" name="password" type="password" autocomplete="new-password" required>
    <button id="change-password">Change password</button></form></section>
    <section><h2>Second factor</h2>{{#secondFactor}}<p>On. {{recoveryLeft}} recovery codes left.</p>
    <form method="post" action="/me/2fa/disable"><input type="hidden" name="csrf" value="{{session.csrf}}"><label for="off-code">A current code, to turn it off</label>
    <input id="off-code" name="code" inputmode="numeric" required><button class="danger" id="disable-2fa">Turn off</button></form>
    <form method="post" action="/me/mail-lock"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label><input type="checkbox" name="on" value="yes" id="mail-lock" {{#mailLock}}checked{{/mailLock}}> Keep my main password off POP and IMAP (mail apps use app passwords)</label>
    <button id="set-mail-lock">Save</button></form>{{/secondFactor}}
    {{^secondFactor}}{{#pending}}<form method="post" action="/me/2fa/confirm"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="confirm-code">Enter the code your app shows now</label><input id="confirm-code" name="code" inputmode="numeric" required><button id="confirm-2fa">Confirm</button></form>{{/pending}}
    <form method="post" action="/me/2fa/start"><input type="hidden" name="csrf" value="{{session.csrf}}"><p>Off. An authenticator app (TOTP) adds a code to each login.</p><button id="start-2fa">Set up a second factor</button></form>{{/secondFactor}}</section>
    <section><h2>App passwords</h2><table><thead><tr><th>Label</th><th>Services</th><th>Made</th><th></th></tr></thead><tbody>
    {{#apps}}<tr><td>{{label}}</td><td>{{services}}</td><td>{{created}}</td><td><form class="inline" method="post" action="/me/app-passwords/{{id}}/revoke"><input type="hidden" name="csrf" value="{{session.csrf}}"><button class="danger" id="revoke-{{id}}">Revoke</button></form></td></tr>{{/apps}}
    {{^apps}}<tr><td colspan="4" class="muted">None.</td></tr>{{/apps}}</tbody></table>
    <form method="post" action="/me/app-passwords"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="app-label">Label (the device or app)</label><input id="app-label" name="label" required maxlength="64">
    <label><input type="checkbox" name="pop" value="yes" id="svc-pop"> POP</label><label><input type="checkbox" name="imap" value="yes" id="svc-imap" checked> IMAP</label><label><input type="checkbox" name="smtp" value="yes" id="svc-smtp" checked> SMTP</label>
    <button id="add-app-password">Make an app password</button></form></section>
    <section><h2>Forwards</h2>{{#forwardsEditable}}<form method="post" action="/me/forwards"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="forwards">Forward my mail to (one address per line; empty for none)</label><textarea id="forwards" name="addresses">{{forwards}}</textarea>
    <label><input type="checkbox" name="keep" value="yes" id="keep-copy" {{#keepCopy}}checked{{/keepCopy}}> Keep a copy in my mailbox</label>
    <button id="set-forwards">Save forwards</button></form>{{/forwardsEditable}}{{^forwardsEditable}}<p class="muted">Your delivery is set up by hand (.qmail); ask your administrator.</p>{{/forwardsEditable}}</section>
    <section><h2>Vacation message</h2><p>{{vacationState}}</p><form method="post" action="/me/vacation"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="v-subject">Subject</label><input id="v-subject" name="subject" value="{{vacationSubject}}" maxlength="200">
    <label for="v-body">Message</label><textarea id="v-body" name="body">{{vacationBody}}</textarea>
    <label for="v-from">From (YYYY-MM-DD, optional)</label><input id="v-from" name="from" type="date" value="{{vacationFrom}}">
    <label for="v-until">Until (YYYY-MM-DD, inclusive, optional)</label><input id="v-until" name="until" type="date" value="{{vacationUntil}}">
    <label for="v-days">Answer each sender once in (days)</label><input id="v-days" name="days" type="number" min="1" max="365" value="{{vacationDays}}">
    <button id="set-vacation">Turn on</button></form>{{#vacationOn}}<form method="post" action="/me/vacation/off"><input type="hidden" name="csrf" value="{{session.csrf}}"><button class="danger" id="vacation-off">Turn off</button></form>{{/vacationOn}}</section>{{> footer}}
    """

    static let audit = """
    {{> header}}<h1>Audit log</h1><section><form method="get" action="/audit"><label for="q">Account or domain</label><input id="q" name="q" value="{{q}}"></form>
    <table><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Before → after</th></tr></thead><tbody>
    {{#items}}<tr><td>{{time}}</td><td>{{who}}<br><span class="muted">{{via}} from {{from}}</span></td><td>{{action}} {{object}}</td><td><span class="muted">{{before}}</span><br>{{after}}</td></tr>{{/items}}
    {{^items}}<tr><td colspan="4" class="muted">Nothing yet.</td></tr>{{/items}}</tbody></table></section>{{> footer}}
    """

    static let keys = """
    {{> header}}<h1>API keys</h1>
    {{#shown}}<section><h2>New key</h2><p>Keep it now: it is not shown again.</p><p class="secret" id="new-key">{{shown}}</p></section>{{/shown}}
    <section><table><thead><tr><th>Id</th><th>Scope</th><th>Domains</th><th>Label</th><th></th></tr></thead><tbody>
    {{#items}}<tr><td><code>{{id}}</code></td><td>{{scope}}</td><td>{{domains}}</td><td>{{label}}</td><td><form class="inline" method="post" action="/api-keys/{{id}}/revoke"><input type="hidden" name="csrf" value="{{session.csrf}}"><button class="danger">Revoke</button></form></td></tr>{{/items}}
    {{^items}}<tr><td colspan="5" class="muted">No keys.</td></tr>{{/items}}</tbody></table></section>
    <section><h2>Make a key</h2><form method="post" action="/api-keys"><input type="hidden" name="csrf" value="{{session.csrf}}">
    <label for="k-label">Label</label><input id="k-label" name="label" maxlength="64">
    <label for="k-scope">Scope</label><select id="k-scope" name="scope"><option value="read">read-only</option><option value="write">read-write</option></select>
    <label for="k-domains">Domains (comma-separated; empty for all)</label><input id="k-domains" name="domains">
    <label for="k-code">Your second-factor code</label><input id="k-code" name="code" inputmode="numeric" required>
    <button id="add-key">Make key</button></form></section>{{> footer}}
    """

    static let message = """
    {{> header}}<h1>{{title}}</h1><section><p>{{text}}</p><p><a href="{{back}}">Back</a></p></section>{{> footer}}
    """
}
