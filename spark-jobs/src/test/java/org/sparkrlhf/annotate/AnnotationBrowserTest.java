package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The annotator's and admin's pages in headless Chromium: what a person does, and what an attacker tries. */
class AnnotationBrowserTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void browser() {
        Browser.assumeInstalled();
    }

    static void signIn(ChromeDriver d, String base, String token) {
        d.get(base + "/signin");
        d.findElement(By.id("token")).sendKeys(token);
        d.findElement(By.id("signin")).click();
    }

    static void awaitItem(ChromeDriver d) {
        new WebDriverWait(d, Duration.ofSeconds(20)).until(x -> x.findElement(By.id("task")).isDisplayed() && !cards(d).isEmpty());
    }

    static List<WebElement> cards(ChromeDriver d) {
        return d.findElements(By.cssSelector("#ranking > li.card"));
    }

    /** The responses' indices in the order the page shows them now, best first. */
    static List<Integer> order(ChromeDriver d) {
        List<Integer> o = new ArrayList<>();
        for (WebElement c : cards(d)) o.add(Integer.parseInt(c.getAttribute("data-index")));
        return o;
    }

    static void submitAndAwaitSaved(ChromeDriver d) {
        d.findElement(By.id("submit")).click();
        new WebDriverWait(d, Duration.ofSeconds(20)).until(x -> x.findElement(By.id("status")).getText().startsWith("Saved"));
    }

    static String rankingOf(List<Integer> order) {
        return order.toString().replace(" ", "");
    }

    @Test
    void rankByKeyboardAndByMouseSubmitReloadWithoutLossOrDuplicate() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 8, 4, null), out = tmp.resolve("feedback");
        try (AnnotationServiceTest.Round r = AnnotationServiceTest.open(gen, out, AnnotationSettings.defaults("1").withOverlap(1.0, 2), 0, "alice", "bob")) {
            ChromeDriver d = Browser.start(tmp.resolve("profile"));
            try {
                signIn(d, r.base(), r.tokens().get("alice"));
                awaitItem(d);
                assertTrue(d.findElement(By.cssSelector("details.guidelines")).getAttribute("open") != null, "the guidelines are open on the first item");
                assertTrue(d.findElement(By.cssSelector("details.guidelines")).getText().contains("Rank the responses"));
                d.findElement(By.cssSelector("details.guidelines summary")).click(); // read; folded away
                List<Integer> shown = order(d);
                // keyboard alone: the first card down one (Alt+Down), focus to the third card (Down), that card to rank 1 (key 1)
                cards(d).get(0).click();
                new Actions(d).keyDown(Keys.ALT).sendKeys(Keys.ARROW_DOWN).keyUp(Keys.ALT).sendKeys(Keys.ARROW_DOWN).sendKeys("1").perform();
                List<Integer> expected = List.of(shown.get(2), shown.get(1), shown.get(0), shown.get(3));
                assertEquals(expected, order(d), "shown " + shown);
                assertEquals("#1", cards(d).get(0).findElement(By.className("rank")).getText());
                new org.openqa.selenium.support.ui.Select(cards(d).get(3).findElement(By.cssSelector("select[name^=flag]"))).selectByValue("nonsense");
                new org.openqa.selenium.support.ui.Select(cards(d).get(0).findElement(By.cssSelector("select[name^='label.helpful']"))).selectByValue("good");
                cards(d).get(0).click();
                Browser.screenshot(d, "annotate");
                submitAndAwaitSaved(d);
                List<JsonNode> stored = AnnotationServiceTest.rankings(out);
                assertEquals(1, stored.size());
                assertEquals(rankingOf(expected), stored.get(0).get("ranking").toString());
                assertEquals(shown.get(3).intValue(), stored.get(0).get("flags").get(0).get("response").asInt());

                // the mouse: drag the last card by its bar above the first
                awaitItem(d);
                new WebDriverWait(d, Duration.ofSeconds(10)).until(x -> !order(d).isEmpty() && !d.findElement(By.id("prompt")).getText().equals(stored.get(0).get("prompt").asText()));
                shown = order(d);
                WebElement last = cards(d).get(3).findElement(By.className("grip")), first = cards(d).get(0);
                d.executeScript("arguments[0].scrollIntoView({block: 'center'});", d.findElement(By.id("ranking")));
                new Actions(d).clickAndHold(last).pause(Duration.ofMillis(100))
                        .moveToElement(first, 0, -first.getSize().getHeight() / 2 + 3).pause(Duration.ofMillis(100))
                        .moveByOffset(0, -2).release().perform();
                expected = List.of(shown.get(3), shown.get(0), shown.get(1), shown.get(2));
                assertEquals(expected, order(d), "dragged last to first from " + shown);
                new Actions(d).doubleClick(d.findElement(By.id("submit"))).perform(); // an impatient double click stores once
                new WebDriverWait(d, Duration.ofSeconds(20)).until(x -> x.findElement(By.id("status")).getText().startsWith("Saved"));
                assertEquals(rankingOf(expected), AnnotationServiceTest.rankings(out).get(1).get("ranking").toString());
                assertEquals(2, AnnotationServiceTest.rankings(out).size());

                // reload: the item now shown comes back, nothing is lost or stored twice
                awaitItem(d);
                new WebDriverWait(d, Duration.ofSeconds(10)).until(x -> !d.findElement(By.id("status")).getText().isEmpty());
                String prompt = d.findElement(By.id("prompt")).getText();
                d.navigate().refresh();
                awaitItem(d);
                assertEquals(prompt, d.findElement(By.id("prompt")).getText());
                assertEquals(2, AnnotationServiceTest.rankings(out).size());
                assertTrue(d.findElement(By.id("progress")).getText().startsWith("2 judged"), d.findElement(By.id("progress")).getText());
            } finally {
                d.quit();
            }
            // bob ranks the same items over HTTP (every item overlaps here), agreeing on the first and reversing the second
            AnnotatorClient bob = new AnnotatorClient(r.base());
            bob.signIn(r.tokens().get("bob"));
            List<JsonNode> alices = AnnotationServiceTest.rankings(out);
            for (int i = 0; i < 2; i++) {
                JsonNode mine = alices.get(i), it = bob.item();
                assertEquals(mine.get("item").asText(), it.get("item").asText());
                List<Integer> rk = new ArrayList<>();
                mine.get("ranking").forEach(x -> rk.add(x.asInt()));
                if (i == 1) java.util.Collections.reverse(rk);
                assertEquals(200, bob.submit("bob-" + it.get("item").asText().replace('/', '-') + "-x", it.get("item").asText(), rankingOf(rk).replaceAll("[\\[\\]]", "")).statusCode());
            }
            ChromeDriver admin = Browser.start(tmp.resolve("admin-profile"));
            try {
                signIn(admin, r.base(), r.admin());
                new WebDriverWait(admin, Duration.ofSeconds(20)).until(x -> x.findElements(By.cssSelector("#people tr")).size() > 1);
                assertTrue(admin.findElement(By.id("people")).getText().contains("alice"));
                assertTrue(admin.findElement(By.id("flagged")).getText().contains("nonsense"));
                // 2 shared items x 6 response pairs: all 6 alike on the first, none on the reversed second
                new WebDriverWait(admin, Duration.ofSeconds(10)).until(x -> x.findElement(By.id("agreement")).getText().contains("0.500"));
                admin.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 1500));
                Browser.screenshot(admin, "admin");
            } finally {
                admin.quit();
            }
        }
    }

    @Test
    void twoAnnotatorsAtOnceGetTheirOwnItems() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 6, 4, null), out = tmp.resolve("feedback");
        try (AnnotationServiceTest.Round r = AnnotationServiceTest.open(gen, out, AnnotationSettings.defaults("1").withOverlap(0, 2), 0, "alice", "bob")) {
            ChromeDriver a = Browser.start(tmp.resolve("a")), b = Browser.start(tmp.resolve("b"));
            try {
                signIn(a, r.base(), r.tokens().get("alice"));
                signIn(b, r.base(), r.tokens().get("bob"));
                awaitItem(a);
                awaitItem(b);
                assertNotEquals(a.findElement(By.id("prompt")).getText(), b.findElement(By.id("prompt")).getText());
                submitAndAwaitSaved(a);
                submitAndAwaitSaved(b);
                List<String> who = AnnotationServiceTest.rankings(out).stream().map(j -> j.get("annotator").asText()).sorted().toList();
                assertEquals(List.of("alice", "bob"), who);
                // alice skips her next item: it is recorded apart from the rankings, and another comes
                awaitItem(a);
                new WebDriverWait(a, Duration.ofSeconds(10)).until(x -> x.findElement(By.id("progress")).getText().startsWith("1 judged"));
                String skipped = a.findElement(By.id("prompt")).getText();
                a.findElement(By.id("skip")).click();
                new WebDriverWait(a, Duration.ofSeconds(10)).until(x -> x.findElement(By.id("progress")).getText().startsWith("1 judged · 1 skipped"));
                awaitItem(a);
                assertNotEquals(skipped, a.findElement(By.id("prompt")).getText());
                assertEquals(1, FeedbackLog.read(org.apache.hadoop.fs.FileSystem.getLocal(new org.apache.hadoop.conf.Configuration()),
                        new org.apache.hadoop.fs.Path(out.resolve("_skips").toUri())).records().size());
                assertEquals(2, AnnotationServiceTest.rankings(out).size());
            } finally {
                a.quit();
                b.quit();
            }
        }
    }

    @Test
    void longResponsesScrollInsideTheirCardsOnALaptopScreen() throws Exception {
        String longText = "It went on. ".repeat(400) + "https://example.org/" + "x".repeat(600);
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 2, 4, longText), out = tmp.resolve("feedback");
        try (AnnotationServiceTest.Round r = AnnotationServiceTest.open(gen, out, AnnotationSettings.defaults("1").withOverlap(0, 2), 0, "alice")) {
            ChromeDriver d = Browser.start(tmp.resolve("profile"));
            try {
                signIn(d, r.base(), r.tokens().get("alice"));
                awaitItem(d);
                WebElement text = d.findElements(By.cssSelector("#ranking .text")).stream().filter(e -> e.getText().startsWith("It went on.")).findFirst().orElseThrow();
                Number client = (Number) d.executeScript("return arguments[0].clientHeight;", text), scroll = (Number) d.executeScript("return arguments[0].scrollHeight;", text);
                assertTrue(scroll.intValue() > client.intValue() && client.intValue() < 400, "the long response scrolls inside its card: " + client + " of " + scroll);
                Number pageWidth = (Number) d.executeScript("return document.documentElement.scrollWidth;"), view = (Number) d.executeScript("return window.innerWidth;");
                assertTrue(pageWidth.intValue() <= view.intValue(), "nothing overflows sideways, not even a 600-character word: " + pageWidth + " > " + view);
            } finally {
                d.quit();
            }
        }
    }

    @Test
    void responseHtmlIsShownAsTextAndForgedRequestsAreRefused() throws Exception {
        String payload = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"><b>bold</b>";
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 4, 4, payload), out = tmp.resolve("feedback");
        HttpServer forger = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
        try (AnnotationServiceTest.Round r = AnnotationServiceTest.open(gen, out, AnnotationSettings.defaults("1").withOverlap(0, 2), 0, "alice", "bob")) {
            AnnotatorClient bob = new AnnotatorClient(r.base());
            bob.signIn(r.tokens().get("bob"));
            ChromeDriver d = Browser.start(tmp.resolve("profile"));
            try {
                signIn(d, r.base(), r.tokens().get("alice"));
                awaitItem(d);
                String bobsItem = bob.item().get("item").asText();
                assertTrue(d.findElement(By.id("ranking")).getText().contains(payload), "the payload shows as text");
                assertTrue(d.findElements(By.cssSelector("#ranking img, #ranking script, #ranking b")).isEmpty(), "no element was made from it");
                assertNull(d.executeScript("return window.pwned === undefined ? null : window.pwned;"), "no script ran");

                // a script in the page that sends a form without the CSRF token, then one with another annotator's item
                String noToken = (String) d.executeAsyncScript("const done = arguments[0];"
                        + "fetch('/api/submit', {method: 'POST', body: new URLSearchParams({submission_id: 'forged-000001', item: '1/0', ranking: '0,1,2,3'})})"
                        + ".then(r => r.text().then(t => done(r.status + ' ' + t)));");
                assertTrue(noToken.startsWith("403 ") && noToken.contains("CSRF"), noToken);
                String others = (String) d.executeAsyncScript("const done = arguments[arguments.length - 1];"
                        + "const csrf = document.querySelector('meta[name=csrf]').content;"
                        + "fetch('/api/submit', {method: 'POST', body: new URLSearchParams({csrf: csrf, submission_id: 'stolen-000001', item: arguments[0], ranking: '0,1,2,3'})})"
                        + ".then(r => r.text().then(t => done(r.status + ' ' + t)));", bobsItem);
                assertTrue(others.startsWith("403 ") && others.contains("not given to you"), others);

                // a page on another site posts a form to the app while alice is signed in
                String app = r.base();
                forger.createContext("/forge", ex -> {
                    byte[] html = ("<!doctype html><form id=f method=post action='" + app + "/api/submit'>"
                            + "<input name=submission_id value=forged-000002><input name=item value='1/0'><input name=ranking value='0,1,2,3'></form>"
                            + "<script>document.getElementById('f').submit()</script>").getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().add("Content-Type", "text/html");
                    ex.sendResponseHeaders(200, html.length);
                    ex.getResponseBody().write(html);
                    ex.close();
                });
                forger.start();
                d.get("http://localhost:" + forger.getAddress().getPort() + "/forge");
                new WebDriverWait(d, Duration.ofSeconds(10)).until(x -> x.getCurrentUrl().startsWith(app));
                String answer = d.findElement(By.tagName("body")).getText();
                assertTrue(answer.contains("not signed in") || answer.contains("CSRF"), "the forged form is refused: " + answer);
                assertEquals(0, AnnotationServiceTest.rankings(out).size(), "nothing forged was stored");
            } finally {
                d.quit();
            }
        } finally {
            forger.stop(0);
        }
    }

    @Test
    void serverKilledAfterStoringBeforeAcknowledgingThenRestarted() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 6, 4, null), out = tmp.resolve("feedback");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> args = List.of("--from-generated", gen.toString(), "--out", out.toString(), "--port", String.valueOf(port), "--annotators", "alice");
        Process first = server(args, true, tmp.resolve("first.out"));
        String token = awaitServing(tmp.resolve("first.out"), first, "token for annotator alice \\(shown once; stored hashed\\): (\\S+)");
        ChromeDriver d = Browser.start(tmp.resolve("profile"));
        Process second = null;
        try {
            signIn(d, "http://127.0.0.1:" + port, token);
            awaitItem(d);
            String prompt = d.findElement(By.id("prompt")).getText();
            cards(d).get(2).click();
            new Actions(d).sendKeys("1").perform();
            List<Integer> ranked = order(d);
            d.findElement(By.id("submit")).click();
            // the fault: the server stored the judgement, synced it, and died before answering
            assertTrue(first.waitFor(30, TimeUnit.SECONDS), "the server halted");
            assertEquals(77, first.exitValue(), "it halted at the fault, after the store");
            new WebDriverWait(d, Duration.ofSeconds(20)).until(x -> x.findElement(By.id("status")).getText().startsWith("Not saved yet"));
            assertEquals(prompt, d.findElement(By.id("prompt")).getText(), "the page keeps the item while it cannot save");
            List<JsonNode> stored = AnnotationServiceTest.rankings(out);
            assertEquals(1, stored.size(), "synced before the (lost) acknowledgement");

            second = server(args, false, tmp.resolve("second.out"));
            awaitServing(tmp.resolve("second.out"), second, "serving (http\\S+)");
            new WebDriverWait(d, Duration.ofSeconds(30)).until(x -> x.findElement(By.id("status")).getText().startsWith("Saved"));
            awaitItem(d);
            new WebDriverWait(d, Duration.ofSeconds(10)).until(x -> !x.findElement(By.id("prompt")).getText().equals(prompt));
            stored = AnnotationServiceTest.rankings(out);
            assertEquals(1, stored.size(), "the retried submission was acknowledged, not stored again");
            assertEquals(rankingOf(ranked), stored.get(0).get("ranking").toString());
            try (var files = Files.list(out)) {
                assertEquals(1, files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).count(), "the restarted server wrote no judgement file");
            }
        } finally {
            d.quit();
            first.destroyForcibly();
            if (second != null) second.destroyForcibly();
        }
    }

    /** bin/rlhf annotate as its own JVM on the test classpath; {@code fault}: halt after the first judgement is stored. */
    private static Process server(List<String> args, boolean fault, Path log) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("--add-opens")).toList());
        if (fault) cmd.add("-Drlhf.annotate.haltAfterStored=1");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), AnnotateCommand.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static String awaitServing(Path log, Process p, String pattern) throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < end) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            Matcher m = Pattern.compile(pattern).matcher(text);
            if (text.contains("serving http") && m.find()) return m.group(1);
            if (!p.isAlive()) throw new AssertionError("the server ended (" + p.exitValue() + "):\n" + text);
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not start:\n" + Files.readString(log));
    }
}
