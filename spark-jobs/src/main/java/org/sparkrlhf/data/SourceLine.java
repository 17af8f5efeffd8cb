package org.sparkrlhf.data;

import java.io.Serializable;

/** One raw record and where it came from (file and 1-based line), for error reports. */
public record SourceLine(String file, long line, String text) implements Serializable {}
