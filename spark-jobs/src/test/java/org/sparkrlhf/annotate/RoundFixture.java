package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.sparkrlhf.jobs.BrownText;

/** What the annotation tests share: a generate job's output made of Brown Corpus sentences, and an HTTP client that signs in as a browser would. */
final class RoundFixture {
    static final ObjectMapper JSON = new ObjectMapper();

    private RoundFixture() {}

    /**
     * Writes {@code dir}/responses/part-00000 as {@code rlhf generate --samples k} would for
     * {@code prompts} prompts (consecutive Brown sentences: a prompt, then its k responses);
     * {@code special}, when not null, replaces prompt 0's response 1 (an XSS payload, say).
     */
    static Path generated(Path dir, int prompts, int k, String special) throws IOException {
        // short sentences, so a prompt and a response fit a small test model's context in bytes
        List<String> s = BrownText.sentences("ca01", "ca02", "ca03", "ca04", "ca05").stream().filter(t -> t.length() >= 20 && t.length() <= 100).toList();
        List<String> lines = new ArrayList<>();
        int at = 0;
        for (int p = 0; p < prompts; p++) {
            String prompt = s.get(at++ % s.size());
            for (int j = 0; j < k; j++) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("prompt_index", p);
                o.put("sample", j);
                o.put("prompt", prompt);
                o.put("response", p == 0 && j == 1 && special != null ? special : s.get(at++ % s.size()));
                lines.add(JSON.writeValueAsString(o));
            }
        }
        Path out = dir.resolve("responses");
        Files.createDirectories(out);
        Files.write(out.resolve("part-00000"), lines, StandardCharsets.UTF_8);
        return dir;
    }

    /** A signed-in (or not yet) HTTP user of one server, with its own cookies. */
    static final class Client {
        final String base;
        final HttpClient http;
        String csrf;

        Client(String base) {
            this.base = base;
            this.http = HttpClient.newBuilder().cookieHandler(new CookieManager()).followRedirects(HttpClient.Redirect.NEVER).build();
        }

        /** Signs in with {@code token} through the sign-in form; returns the status of the form's answer. */
        int signIn(String token) throws Exception {
            String page = get("/signin").body();
            int status = post("/signin", Map.of("csrf", hidden(page), "token", token)).statusCode();
            if (status == 303) {
                HttpResponse<String> p = get(token.isEmpty() ? "/" : "/annotate");
                Matcher m = Pattern.compile("name=\"csrf\" content=\"([^\"]+)\"").matcher(p.body());
                if (m.find()) csrf = m.group(1);
                else csrf = hidden(get("/admin").body());
            }
            return status;
        }

        static String hidden(String page) {
            Matcher m = Pattern.compile("name=\"csrf\" (?:value|content)=\"([^\"]+)\"").matcher(page);
            if (!m.find()) throw new AssertionError("no CSRF token in the page:\n" + page);
            return m.group(1);
        }

        HttpResponse<String> get(String path) throws Exception {
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        }

        JsonNode item() throws Exception {
            return JSON.readTree(get("/api/item").body());
        }

        HttpResponse<String> post(String path, Map<String, String> form) throws Exception {
            String body = form.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        }

        /** Submits a ranking of {@code item} with this session's CSRF token. */
        HttpResponse<String> submit(String id, String item, String ranking) throws Exception {
            return post("/api/submit", Map.of("csrf", csrf, "submission_id", id, "item", item, "ranking", ranking));
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }
}
