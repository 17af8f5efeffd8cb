package org.sparkrlhf.data;

import java.io.Serializable;

/** A record that parsed ({@code value}) or did not ({@code reason}), with its source. */
public record Parsed<T>(T value, String file, long line, String reason, String raw) implements Serializable {
    public static <T> Parsed<T> ok(T value, SourceLine src) {
        return new Parsed<>(value, src.file(), src.line(), null, null);
    }

    public static <T> Parsed<T> bad(String reason, SourceLine src) {
        String raw = src.text().length() > 500 ? src.text().substring(0, 500) + "..." : src.text();
        return new Parsed<>(null, src.file(), src.line(), reason, raw);
    }

    public boolean isOk() {
        return reason == null;
    }
}
