package org.sparkrlhf.annotate;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Debian Chromium driven through its ChromeDriver (no browser download). Without them the
 * browser tests are skipped, unless RLHF_BROWSER_TESTS=required (bin/test installs both and sets it).
 */
final class Browser {
    static final String CHROMIUM = "/usr/bin/chromium", DRIVER = "/usr/bin/chromedriver";

    private Browser() {}

    static void assumeInstalled() {
        boolean here = new File(CHROMIUM).canExecute() && new File(DRIVER).canExecute();
        if (!here && "required".equals(System.getenv("RLHF_BROWSER_TESTS")))
            throw new AssertionError("RLHF_BROWSER_TESTS=required but " + CHROMIUM + " or " + DRIVER + " is missing: apt-get install chromium chromium-driver");
        Assumptions.assumeTrue(here, "Debian's chromium and chromium-driver are not installed (bin/test installs them)");
    }

    /** A fresh browser with its own empty profile, 1280 x 800 (a laptop screen). */
    static ChromeDriver start(Path profile) throws Exception {
        Files.createDirectories(profile);
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM);
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,800", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(DRIVER)).usingAnyFreePort().build();
        ChromeDriver d = new ChromeDriver(service, o);
        d.manage().timeouts().implicitlyWait(Duration.ZERO);
        return d;
    }

    static void screenshot(ChromeDriver d, String name) throws Exception {
        Path dir = Path.of("target", "screenshots");
        Files.createDirectories(dir);
        Files.write(dir.resolve(name + ".png"), ((TakesScreenshot) d).getScreenshotAs(OutputType.BYTES));
    }
}
