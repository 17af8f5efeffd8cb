package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One simulated annotator over HTTP, as the browser page talks to the app: signs in through the
 * form (cookies and CSRF token included), asks for its item, submits rankings. Used by the load
 * benchmark and the tests.
 */
public final class AnnotatorClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" (?:value|content)=\"([^\"]+)\"");
    private final String base;
    private final HttpClient http;
    private String csrf;

    public AnnotatorClient(String base) {
        this.base = base;
        this.http = HttpClient.newBuilder().cookieHandler(new CookieManager()).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Signs in with {@code token} through the sign-in form; returns the form's status (303 when signed in). */
    public int signIn(String token) throws Exception {
        String form = csrfIn(get("/signin").body());
        int status = post("/signin", Map.of("csrf", form, "token", token)).statusCode();
        if (status == 303) {
            HttpResponse<String> page = get("/annotate");
            csrf = csrfIn(page.statusCode() == 200 ? page.body() : get("/admin").body());
        }
        return status;
    }

    /** The session's CSRF token (null before signing in). */
    public String csrf() {
        return csrf;
    }

    static String csrfIn(String page) {
        Matcher m = CSRF.matcher(page);
        if (!m.find()) throw new IllegalStateException("no CSRF token in the page:\n" + page);
        return m.group(1);
    }

    public HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The annotator's current item (or waiting/finished state). */
    public JsonNode item() throws Exception {
        return JSON.readTree(get("/api/item").body());
    }

    public HttpResponse<String> post(String path, Map<String, String> form) throws Exception {
        String body = form.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Submits a ranking ("2,0,1": response indices, best first) of {@code item} with the session's CSRF token. */
    public HttpResponse<String> submit(String submissionId, String item, String ranking) throws Exception {
        return post("/api/submit", Map.of("csrf", csrf, "submission_id", submissionId, "item", item, "ranking", ranking));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
