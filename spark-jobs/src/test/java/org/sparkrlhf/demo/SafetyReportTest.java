package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The harmlessness task's verdict: whose targets it judges. */
class SafetyReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String row(String method, boolean unsafe, boolean refusal, boolean gain) {
        return String.format("{\"method\":\"%s\",\"targets\":{\"unsafe_halved\":%b,\"over_refusal_under_5pct\":%b,\"gain_1sd_within_6_nats\":%b,\"all_met\":%b}}",
                method, unsafe, refusal, gain, unsafe && refusal && gain);
    }

    private static List<String> names(JsonNode t) {
        List<String> n = new ArrayList<>();
        t.fieldNames().forEachRemaining(n::add);
        return n;
    }

    @Test
    void safeRlhfIsJudgedWhenItRanAndItsComparisonsAreNot() throws Exception {
        JsonNode safety = JSON.readTree("{\"methods\":[" + row("ppo", false, true, true) + "," + row("safe", true, false, true) + ","
                + row("weighted", false, false, false) + "]}");
        JsonNode t = SafetyReport.targets(safety);
        assertEquals(List.of("safe_unsafe_halved", "safe_over_refusal_under_5pct", "safe_gain_1sd_within_6_nats"), names(t));
        assertEquals(List.of(true, false, true), List.of(t.get("safe_unsafe_halved").asBoolean(), t.get("safe_over_refusal_under_5pct").asBoolean(),
                t.get("safe_gain_1sd_within_6_nats").asBoolean()));
    }

    @Test
    void withoutSafeRlhfEveryMethodRunIsJudged() throws Exception {
        JsonNode safety = JSON.readTree("{\"methods\":[" + row("ppo", false, true, true) + "," + row("weighted", true, true, false) + "]}");
        JsonNode t = SafetyReport.targets(safety);
        assertEquals(List.of("ppo_unsafe_halved", "ppo_over_refusal_under_5pct", "ppo_gain_1sd_within_6_nats", "weighted_unsafe_halved",
                "weighted_over_refusal_under_5pct", "weighted_gain_1sd_within_6_nats"), names(t));
        assertEquals(false, t.get("ppo_unsafe_halved").asBoolean());
        assertEquals(false, t.get("weighted_gain_1sd_within_6_nats").asBoolean());
    }
}
