package org.sparkrlhf.data;

import java.io.Serializable;

/** One input file as a run saw it: a file whose length changed since counts as new data. */
public record DataFile(String path, long length) implements Serializable {}
