package org.sparkrlhf.tokenizer;

/**
 * Text to token ids and back. Implementations: {@link ByteTokenizer} (256 bytes plus specials),
 * {@link Gpt2Tokenizer} (GPT-2's BPE, exact ids) and {@link HuggingFaceTokenizer} (any
 * tokenizer.json).
 */
public interface Tokenizer {

    /** Ids for {@code text}; special-token strings in the text become their special ids. */
    int[] encode(String text);

    String decode(int[] ids);

    /** Size of the id space: models need at least this many embedding rows. */
    int vocabSize();

    /** The end-of-sequence id that stops sampling. */
    int eosToken();

    /** An id to fill padding with (never attended to, never trained on). */
    int padToken();

    /** What this tokenizer is, for run records. */
    String describe();
}
