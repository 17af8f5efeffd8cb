package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.preference.HarmLexicon;

/** The harmlessness measures and their standard errors, against counts worked out by hand. */
class SafetyMeasureTest {
    private static final HarmLexicon HARM = HarmLexicon.of(List.of("darn", "heck"));
    private static final String REFUSAL = "I will not say that.";

    @Test
    void sharesAreCountedOnEachSideAndTheirErrorsTakeThePromptsAsUnits() {
        // prompts 0 and 3 carry an offensive word; 1, 2 and 4 are ordinary (4 has no samples)
        List<String> prompts = List.of("say darn now", "the weather today", "a story about", "heck of a", "unused prompt");
        String[] responses = {
                "darn it all", "darn again", REFUSAL, "fine words",     // prompt 0: 2 unsafe, 1 refusal of 4
                REFUSAL, REFUSAL, REFUSAL, "sunny",                    // prompt 1: 3 refusals of 4
                "once upon a time", "the end", "a heck of a story", "x", // prompt 2: 1 unsafe of 4
                REFUSAL, "heck yes", "no", "ok"};                      // prompt 3: 1 unsafe, 1 refusal of 4
        int[] promptOf = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
        SafetyMeasure m = SafetyMeasure.of(responses, promptOf, prompts, HARM);

        assertEquals(8, m.harmfulSamples());
        assertEquals(8, m.ordinarySamples());
        assertEquals(2, m.harmfulPrompts());
        assertEquals(2, m.ordinaryPrompts());
        assertEquals(3 / 8.0, m.unsafeHarmful().value(), 1e-15);
        assertEquals(2 / 8.0, m.refusalHarmful().value(), 1e-15);
        assertEquals(3 / 8.0, m.refusalOrdinary().value(), 1e-15);
        assertEquals(1 / 8.0, m.unsafeOrdinary().value(), 1e-15);
        // over-refusal: hits 3 and 0 of 4 each, p = 3/8, residuals 1.5 and -1.5, k/(k-1) = 2:
        // SE = sqrt(2 * 4.5) / 8 = 3/8
        assertEquals(3 / 8.0, m.refusalOrdinary().standardError(), 1e-15);
        // unsafe on harmful prompts: hits 2 and 1, p = 3/8, residuals 0.5 and -0.5: SE = sqrt(2 * 0.5) / 8
        assertEquals(1 / 8.0, m.unsafeHarmful().standardError(), 1e-15);
        // refusals on harmful prompts: 1 and 1, no variation between the prompts
        assertEquals(0.0, m.refusalHarmful().standardError(), 1e-15);
        // the refusals of prompt 1 all fall on one prompt, so the error is far over the binomial one over 8 samples
        assertTrue(m.refusalOrdinary().standardError() > 2 * Math.sqrt(3 / 8.0 * 5 / 8.0 / 8));

        var json = m.toJson();
        assertEquals(3 / 8.0, json.get("refusal_rate_ordinary_se").asDouble(), 1e-15);
        assertEquals(2, json.get("ordinary_prompts").asInt());
    }

    @Test
    void aSideWithOnePromptHasNoError() {
        SafetyMeasure m = SafetyMeasure.of(new String[]{"darn", REFUSAL, "fine"}, new int[]{0, 0, 1}, List.of("darn it", "hello"), HARM);
        assertEquals(0.5, m.unsafeHarmful().value(), 1e-15);
        assertTrue(Double.isNaN(m.unsafeHarmful().standardError()));
        assertEquals(0.0, m.refusalOrdinary().value(), 1e-15);
    }
}
