package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.Cookie;
import io.undertow.server.handlers.CookieImpl;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The annotation app's HTTP side, on Undertow: sign-in, the annotator's page and its JSON calls,
 * the admin page and export. Every POST is a form that must carry the session's CSRF token; bodies
 * over the size limit are refused before they are read; every page forbids inline and foreign
 * scripts (Content-Security-Policy), and the pages put response text into the page as text only.
 */
public final class AnnotationServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    private static final String PRE_SESSION = "rlhf_signin";
    private static final String NOT_SIGNED_IN = "not signed in (or the sign-in expired): sign in again at /signin";

    private final AnnotationService service;
    private final boolean secureCookies;
    private final Undertow undertow;

    public AnnotationServer(AnnotationService service, String bind, int port, boolean secureCookies) {
        this.service = service;
        this.secureCookies = secureCookies;
        HttpHandler blocking = this::route;
        this.undertow = Undertow.builder()
                .addHttpListener(port, bind)
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, (long) service.settings.maxBodyBytes())
                .setServerOption(UndertowOptions.MAX_HEADER_SIZE, 32 * 1024)
                .setServerOption(UndertowOptions.MAX_COOKIES, 20)
                .setHandler(ex -> {
                    if (ex.isInIoThread()) ex.dispatch(blocking); // handlers block on the file system's sync
                    else blocking.handleRequest(ex);
                })
                .build();
    }

    public AnnotationServer start() {
        undertow.start();
        return this;
    }

    /** The address it listens on (the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    }

    @Override
    public void close() {
        undertow.stop();
    }

    private void route(HttpServerExchange ex) throws Exception {
        ex.startBlocking();
        headers(ex);
        String path = ex.getRequestPath(), method = ex.getRequestMethod().toString();
        long now = System.currentTimeMillis();
        try {
            Sessions.Session session = service.sessions.read(cookie(ex, Sessions.COOKIE), now);
            if (method.equals("GET")) {
                switch (path) {
                    case "/" -> redirect(ex, session == null ? "/signin" : session.principal().admin() ? "/admin" : "/annotate");
                    case "/signin" -> signInPage(ex, null, 200);
                    case "/annotate" -> {
                        if (session == null || session.principal().admin()) redirect(ex, "/signin");
                        else page(ex, "annotate.html", Map.of("csrf", session.csrf(), "name", session.principal().name(),
                                "round", service.settings.round(), "guidelines", service.guidelines));
                    }
                    case "/admin" -> {
                        if (session == null || !session.principal().admin()) redirect(ex, "/signin");
                        else page(ex, "admin.html", Map.of("csrf", session.csrf(), "round", service.settings.round()));
                    }
                    case "/api/item" -> json(ex, service.next(annotator(session), now));
                    case "/api/admin" -> {
                        admin(session);
                        json(ex, new AnnotationService.Reply(200, service.adminReport(now)));
                    }
                    case "/admin/export" -> {
                        admin(session);
                        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/x-ndjson; charset=utf-8");
                        ex.getResponseHeaders().put(Headers.CONTENT_DISPOSITION, "attachment; filename=\"feedback-" + service.settings.round() + ".jsonl\"");
                        service.export(ex.getOutputStream());
                    }
                    default -> {
                        if (path.startsWith("/static/") && path.matches("/static/[a-z]+\\.(js|css)")) asset(ex, path.substring(8));
                        else throw new Rejected(404, "no page " + path);
                    }
                }
                return;
            }
            if (!method.equals("POST")) throw new Rejected(405, method + " is not served; pages are GET, forms POST");
            Map<String, String> form = form(ex);
            if (path.equals("/signin")) {
                signIn(ex, form, now);
                return;
            }
            if (session == null) throw new Rejected(401, NOT_SIGNED_IN);
            if (!Sessions.same(form.get("csrf"), session.csrf()))
                throw new Rejected(403, "missing or wrong CSRF token: this form did not come from this app's page (reload the page and submit again)");
            switch (path) {
                case "/api/submit" -> json(ex, service.submit(annotator(session), form, now));
                case "/api/skip" -> json(ex, service.skip(annotator(session), form, now));
                case "/signout" -> {
                    ex.setResponseCookie(sessionCookie("", 0));
                    redirect(ex, "/signin");
                }
                default -> throw new Rejected(404, "no form " + path);
            }
        } catch (Rejected r) {
            json(ex, AnnotationService.error(r.status, r.getMessage()));
        }
    }

    private static String annotator(Sessions.Session s) throws Rejected {
        if (s == null) throw new Rejected(401, NOT_SIGNED_IN);
        if (s.principal().admin()) throw new Rejected(403, "the admin token is not an annotator's; sign in with an annotator token");
        return s.principal().name();
    }

    private static void admin(Sessions.Session s) throws Rejected {
        if (s == null) throw new Rejected(401, NOT_SIGNED_IN);
        if (!s.principal().admin()) throw new Rejected(403, "only the admin token opens the admin page");
    }

    private void signIn(HttpServerExchange ex, Map<String, String> form, long now) throws Exception {
        String pre = cookie(ex, PRE_SESSION);
        if (pre == null || !Sessions.same(form.get("csrf"), service.sessions.signInCsrf(pre))) {
            signInPage(ex, "The sign-in form had expired or did not come from this page; please try again.", 403);
            return;
        }
        AccessTokens.Principal p = service.tokens.check(form.get("token"));
        if (p == null) {
            signInPage(ex, "That token is not known here. Check it with whoever runs this round.", 401);
            return;
        }
        ex.setResponseCookie(sessionCookie(service.sessions.create(p, now), service.settings.sessionHours() * 3600));
        redirect(ex, p.admin() ? "/admin" : "/annotate");
    }

    private void signInPage(HttpServerExchange ex, String error, int status) throws IOException {
        String pre = Sessions.randomValue();
        CookieImpl c = new CookieImpl(PRE_SESSION, pre);
        c.setPath("/").setHttpOnly(true).setSameSiteMode("Strict").setSecure(secureCookies);
        ex.setResponseCookie(c);
        ex.setStatusCode(status);
        page(ex, "signin.html", Map.of("csrf", service.sessions.signInCsrf(pre), "error", error == null ? "" : error,
                "errorclass", error == null ? "hidden" : "error"));
    }

    private Cookie sessionCookie(String value, int maxAge) {
        CookieImpl c = new CookieImpl(Sessions.COOKIE, value);
        c.setPath("/").setHttpOnly(true).setSameSiteMode("Strict").setSecure(secureCookies).setMaxAge(maxAge);
        return c;
    }

    private static String cookie(HttpServerExchange ex, String name) {
        Cookie c = ex.getRequestCookie(name);
        return c == null ? null : c.getValue();
    }

    private static void headers(HttpServerExchange ex) {
        var h = ex.getResponseHeaders();
        h.put(HttpString.tryFromString("Content-Security-Policy"), CSP);
        h.put(HttpString.tryFromString("X-Content-Type-Options"), "nosniff");
        h.put(HttpString.tryFromString("X-Frame-Options"), "DENY");
        h.put(HttpString.tryFromString("Referrer-Policy"), "no-referrer");
        h.put(Headers.CACHE_CONTROL, "no-store");
    }

    /** A urlencoded form body, refused when too large, of another type, or naming a field twice. */
    private Map<String, String> form(HttpServerExchange ex) throws IOException, Rejected {
        int max = service.settings.maxBodyBytes();
        long declared = ex.getRequestContentLength();
        if (declared > max) throw new Rejected(413, "request body of " + declared + " bytes is over the limit of " + max + " (--max-body)");
        String type = ex.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        if (type == null || !type.toLowerCase().startsWith("application/x-www-form-urlencoded"))
            throw new Rejected(415, "forms are sent as application/x-www-form-urlencoded, got " + (type == null ? "no content type" : type));
        byte[] body;
        try {
            body = readAtMost(ex.getInputStream(), max);
        } catch (IOException e) {
            throw new Rejected(413, "request body is over the limit of " + max + " bytes (--max-body)");
        }
        if (body == null) throw new Rejected(413, "request body is over the limit of " + max + " bytes (--max-body)");
        Map<String, String> form = new LinkedHashMap<>();
        String text = new String(body, StandardCharsets.UTF_8);
        if (text.isEmpty()) return form;
        for (String pair : text.split("&")) {
            int eq = pair.indexOf('=');
            String k, v;
            try {
                k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new Rejected(400, "the form is not valid urlencoded text: " + e.getMessage());
            }
            if (form.put(k, v) != null) throw new Rejected(400, "form field '" + k + "' sent twice");
        }
        return form;
    }

    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
            if (out.size() > max) return null;
        }
        return out.toByteArray();
    }

    private static void json(HttpServerExchange ex, AnnotationService.Reply r) throws IOException {
        ex.setStatusCode(r.status());
        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json; charset=utf-8");
        ex.getOutputStream().write(JSON.writeValueAsBytes(r.body()));
    }

    private static void redirect(HttpServerExchange ex, String to) {
        ex.setStatusCode(303);
        ex.getResponseHeaders().put(Headers.LOCATION, to);
    }

    private static void page(HttpServerExchange ex, String name, Map<String, String> values) throws IOException {
        String html = resource(name);
        for (var e : values.entrySet()) html = html.replace("{{" + e.getKey() + "}}", Html.escape(e.getValue()));
        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/html; charset=utf-8");
        ex.getOutputStream().write(html.getBytes(StandardCharsets.UTF_8));
    }

    private static void asset(HttpServerExchange ex, String name) throws IOException, Rejected {
        if (AnnotationServer.class.getResource("web/" + name) == null) throw new Rejected(404, "no file /static/" + name);
        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
        ex.getOutputStream().write(resource(name).getBytes(StandardCharsets.UTF_8));
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = AnnotationServer.class.getResourceAsStream("web/" + name)) {
            if (in == null) throw new IOException("missing resource web/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Text made safe to place in HTML. */
    static final class Html {
        private Html() {}

        static String escape(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '<' -> b.append("&lt;");
                    case '>' -> b.append("&gt;");
                    case '&' -> b.append("&amp;");
                    case '"' -> b.append("&quot;");
                    case '\'' -> b.append("&#39;");
                    default -> b.append(c);
                }
            }
            return b.toString();
        }
    }
}
