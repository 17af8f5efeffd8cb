package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One thing to judge: a prompt and the K responses the policy gave it, identified within a round
 * by the prompt's index ({@code <round>/<prompt index>}), which is stable across restarts and
 * regenerations (responses are seeded by the prompt's index).
 */
public record Item(String id, String round, long promptIndex, String prompt, List<String> responses) {
    public Item {
        responses = List.copyOf(responses);
    }

    public static String id(String round, long promptIndex) {
        return round + "/" + promptIndex;
    }

    ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("item", id);
        o.put("round", round);
        o.put("prompt_index", promptIndex);
        o.put("prompt", prompt);
        var rs = o.putArray("responses");
        responses.forEach(rs::add);
        return o;
    }

    static Item fromJson(JsonNode o) {
        List<String> rs = new ArrayList<>();
        o.path("responses").forEach(r -> rs.add(r.asText()));
        return new Item(o.path("item").asText(), o.path("round").asText(), o.path("prompt_index").asLong(), o.path("prompt").asText(), rs);
    }
}
