package org.sparkrlhf.data;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.training.LmExample;

/**
 * The one chat template: each turn is a role header line then its content; an assistant turn ends
 * with the end-of-text token. Only assistant content (and its end token) is trained on, so a
 * model learns to answer, not to imitate users.
 *
 * <pre>
 * &lt;|user|&gt;
 * How do I ...?
 * &lt;|assistant|&gt;
 * You ...&lt;|endoftext|&gt;
 * </pre>
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    public static final List<String> ROLES = List.of("system", "user", "assistant");

    /** One message. */
    public record Turn(String role, String content) implements java.io.Serializable {}

    public static String header(String role) {
        return "<|" + role + "|>\n";
    }

    /** The text a model sees before it should start answering: every turn, then the assistant header. */
    public static String prompt(List<Turn> context) {
        StringBuilder s = new StringBuilder();
        for (Turn t : context) s.append(header(t.role())).append(t.content()).append(t.role().equals("assistant") ? "" : "\n");
        return s.append(header("assistant")).toString();
    }

    /** A sampled response as text, without the end-of-text token that closes it (every assistant turn ends with one). */
    public static String responseText(Tokenizer tok, int[] response) {
        int end = response.length > 0 && response[response.length - 1] == tok.eosToken() ? response.length - 1 : response.length;
        return tok.decode(java.util.Arrays.copyOf(response, end));
    }

    /** The tokens a model sees for a single user message, before it should start answering. */
    public static int[] userPrompt(String message, Tokenizer tok) {
        return tok.encode(prompt(List.of(new Turn("user", message))));
    }

    /** Tokens of a whole conversation with the targets on assistant content. */
    public static LmExample encode(List<Turn> turns, Tokenizer tok) {
        List<Integer> ids = new ArrayList<>();
        List<Boolean> target = new ArrayList<>();
        for (Turn t : turns) {
            add(ids, target, tok.encode(header(t.role())), false);
            if (t.role().equals("assistant")) {
                add(ids, target, tok.encode(t.content()), true);
                add(ids, target, new int[]{tok.eosToken()}, true);
            } else {
                add(ids, target, tok.encode(t.content() + "\n"), false);
            }
        }
        int[] a = ids.stream().mapToInt(Integer::intValue).toArray();
        boolean[] m = new boolean[a.length];
        for (int i = 0; i < m.length; i++) m[i] = target.get(i);
        return new LmExample(a, m);
    }

    private static void add(List<Integer> ids, List<Boolean> target, int[] toks, boolean isTarget) {
        for (int t : toks) {
            ids.add(t);
            target.add(isTarget);
        }
    }
}
