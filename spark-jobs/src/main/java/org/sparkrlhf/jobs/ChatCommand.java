package org.sparkrlhf.jobs;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.data.ChatTemplate.Turn;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code rlhf chat}: a conversation with a model in the terminal, through the chat template the
 * model was fine-tuned with. Tokens print as they are sampled; the history is kept within the
 * model's context (the oldest turns are dropped, and the chat says so); {@code /reset},
 * {@code /set temperature 0.7} (also top-k, top-p, max-new-tokens, seed), {@code /help}; Ctrl-D leaves.
 */
@Command(name = "chat", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Chat with a model in the terminal (a checkpoint directory, a weights file or hf:DIR).")
public final class ChatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "A checkpoint directory, a weights file, or hf:DIR.")
    String model;
    @Option(names = "--tokenizer", description = "The tokenizer spec (default: the model's own).")
    String tokenizer;
    @Option(names = "--temperature", defaultValue = "0.7", description = "Default: ${DEFAULT-VALUE}.")
    double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Default: ${DEFAULT-VALUE} (all tokens).")
    int topK;
    @Option(names = "--top-p", defaultValue = "0.95", description = "Default: ${DEFAULT-VALUE}.")
    double topP;
    @Option(names = "--max-new-tokens", defaultValue = "128", description = "Longest answer, in tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--seed", defaultValue = "1234", description = "Turn i samples with seed + i (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--system", description = "A system message that opens the conversation (kept when old turns are dropped).")
    String system;
    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new ChatCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        try {
            ModelSpec m = ModelSpec.resolve(SparkDefaults.hadoopConfiguration(), "chat", model, tokenizer);
            if (!m.model().config().has(Head.LM)) throw new ModelFileException("chat: " + model + " has no language-model head (a reward model cannot talk)");
            Tokenizer tok = Tokenizers.create(m.tokenizer());
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            return new Session(m.model(), tok, m.weights()).run(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), out);
        } catch (Exception e) {
            return UserErrors.report(e, verbose, System.err);
        }
    }

    /** One conversation: its settings, history and turn count. */
    final class Session {
        private final Gpt gpt;
        private final Tokenizer tok;
        private final String name;
        private final Sampler sampler;
        private final List<Turn> history = new ArrayList<>();
        private int turns;

        Session(Gpt gpt, Tokenizer tok, String name) {
            this.gpt = gpt;
            this.tok = tok;
            this.name = name;
            this.sampler = new Sampler(gpt, tok.padToken());
            settings(); // validates the options up front
        }

        int run(BufferedReader in, PrintStream out) throws IOException {
            out.printf("chatting with %s (context %d tokens). /reset clears the history, /set temperature 0.7 (or top-k, top-p, "
                    + "max-new-tokens, seed) changes sampling, /help; Ctrl-D leaves.%n", name, gpt.config().contextLength());
            while (true) {
                out.print("you> ");
                out.flush();
                String line = in.readLine();
                if (line == null) {
                    out.println();
                    out.println("bye");
                    return 0;
                }
                line = line.strip();
                if (line.isEmpty()) continue;
                if (line.startsWith("/")) {
                    out.println(command(line));
                    continue;
                }
                answer(line, out);
            }
        }

        private String command(String line) {
            String[] w = line.split("\\s+");
            switch (w[0]) {
                case "/reset":
                    history.clear();
                    return "(history cleared)";
                case "/help":
                    return "(/reset, /set temperature|top-k|top-p|max-new-tokens|seed VALUE, Ctrl-D to leave; now: " + describe() + ")";
                case "/set":
                    if (w.length != 3) return "(usage: /set temperature 0.7; settings: temperature, top-k, top-p, max-new-tokens, seed)";
                    double t = temperature, p = topP;
                    int k = topK, n = maxNewTokens;
                    long s = seed;
                    try {
                        switch (w[1]) {
                            case "temperature" -> temperature = Double.parseDouble(w[2]);
                            case "top-k" -> topK = Integer.parseInt(w[2]);
                            case "top-p" -> topP = Double.parseDouble(w[2]);
                            case "max-new-tokens" -> maxNewTokens = Integer.parseInt(w[2]);
                            case "seed" -> seed = Long.parseLong(w[2]);
                            default -> {
                                return "(unknown setting '" + w[1] + "': temperature, top-k, top-p, max-new-tokens or seed)";
                            }
                        }
                        settings();
                        return "(" + w[1] + " = " + w[2] + ")";
                    } catch (IllegalArgumentException e) { // NumberFormatException too: put the old values back
                        temperature = t;
                        topP = p;
                        topK = k;
                        maxNewTokens = n;
                        seed = s;
                        return "(not changed: " + e.getMessage() + ")";
                    }
                default:
                    return "(unknown command " + w[0] + "; /help lists them)";
            }
        }

        private String describe() {
            return String.format("temperature %s, top-k %d, top-p %s, max-new-tokens %d, seed %d", temperature, topK, topP, maxNewTokens, seed);
        }

        private SamplingConfig settings() {
            if (maxNewTokens >= gpt.config().contextLength())
                throw new IllegalArgumentException("max-new-tokens must be below the model's context of " + gpt.config().contextLength());
            return new SamplingConfig(temperature, topK, topP, maxNewTokens, new int[]{tok.eosToken()}, false);
        }

        private void answer(String text, PrintStream out) {
            history.add(new Turn("user", text));
            int budget = gpt.config().contextLength() - maxNewTokens, dropped = 0;
            int[] prompt = tok.encode(ChatTemplate.prompt(withSystem()));
            while (prompt.length > budget && history.size() > 1) {
                history.remove(0); // oldest first; a user turn and its answer go together
                if (!history.isEmpty() && history.get(0).role().equals("assistant")) history.remove(0);
                dropped++;
                prompt = tok.encode(ChatTemplate.prompt(withSystem()));
            }
            if (dropped > 0)
                out.printf("(dropped the %d oldest turn(s): the conversation no longer fits the model's context of %d tokens with room for %d new)%n",
                        dropped, gpt.config().contextLength(), maxNewTokens);
            if (prompt.length > budget) {
                history.remove(history.size() - 1);
                out.printf("(that message alone is %d tokens, more than the %d the context leaves; shorten it or /set max-new-tokens lower)%n", prompt.length, budget);
                return;
            }
            out.print("bot> ");
            StreamingText shown = new StreamingText(tok, out);
            var s = sampler.sample(new int[][]{prompt}, new long[]{seed + turns++}, settings(), (row, token) -> shown.add(token));
            shown.finish();
            out.println();
            int[] r = s.tokens()[0];
            int end = s.stopped()[0] ? r.length - 1 : r.length; // the stop token is not part of the text
            history.add(new Turn("assistant", tok.decode(java.util.Arrays.copyOf(r, end))));
        }

        private List<Turn> withSystem() {
            if (system == null) return history;
            List<Turn> all = new ArrayList<>();
            all.add(new Turn("system", system));
            all.addAll(history);
            return all;
        }
    }

    /**
     * Prints a response as its tokens arrive: decodes everything so far and prints what is new, holding
     * back a trailing incomplete character (byte-level tokens can split one) until it completes.
     */
    static final class StreamingText {
        private final Tokenizer tok;
        private final PrintStream out;
        private final List<Integer> ids = new ArrayList<>();
        private int printed;

        StreamingText(Tokenizer tok, PrintStream out) {
            this.tok = tok;
            this.out = out;
        }

        void add(int token) {
            if (token == tok.eosToken()) return;
            ids.add(token);
            String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            int upTo = text.length();
            while (upTo > printed && text.charAt(upTo - 1) == '\uFFFD') upTo--; // maybe half a character
            if (upTo > printed) {
                out.print(text.substring(printed, upTo));
                out.flush();
                printed = upTo;
            }
        }

        void finish() {
            String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            if (text.length() > printed) out.print(text.substring(printed));
            out.flush();
        }
    }
}
