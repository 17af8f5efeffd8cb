package org.sparkrlhf.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The files of a model directory, wherever it lives: local files here, any Hadoop FileSystem in the jobs. */
public interface ModelDirectory {
    boolean exists(String name) throws IOException;

    InputStream open(String name) throws IOException;

    OutputStream create(String name) throws IOException;

    /** Where {@code name} is, for messages. */
    String where(String name);

    static ModelDirectory local(Path dir) {
        return new ModelDirectory() {
            @Override
            public boolean exists(String name) {
                return Files.isRegularFile(dir.resolve(name));
            }

            @Override
            public InputStream open(String name) throws IOException {
                return Files.newInputStream(dir.resolve(name));
            }

            @Override
            public OutputStream create(String name) throws IOException {
                Files.createDirectories(dir);
                return Files.newOutputStream(dir.resolve(name));
            }

            @Override
            public String where(String name) {
                return dir.resolve(name).toString();
            }
        };
    }
}
