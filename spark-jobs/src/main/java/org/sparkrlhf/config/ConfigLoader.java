package org.sparkrlhf.config;

import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Builds a {@link JobConfig}: the defaults, then a YAML or JSON file (read by the caller from any
 * FileSystem), then {@code key=value} overrides. Unknown keys and ill-typed values are errors that
 * name the key.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT); // train.steps=6.9 is a mistake, not 6

    public static JobConfig load(InputStream file, String fileName, List<String> overrides) {
        return load(JobConfig.class, "defaults.yaml", file, fileName, overrides).validate();
    }

    /** The same layering, with the config file (or none) read from any Hadoop FileSystem. */
    public static <T> T load(Class<T> type, String defaultsResource, String location, List<String> overrides) throws IOException {
        if (location == null) return load(type, defaultsResource, null, "(defaults)", overrides);
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(location);
        var fs = p.getFileSystem(new org.apache.hadoop.conf.Configuration());
        if (!fs.exists(p)) throw new ConfigException("config file not found: " + location);
        try (InputStream in = fs.open(p)) {
            return load(type, defaultsResource, in, location, overrides);
        }
    }

    /** The same layering for any typed config whose defaults are the resource {@code defaultsResource} beside this class. */
    public static <T> T load(Class<T> type, String defaultsResource, InputStream file, String fileName, List<String> overrides) {
        ObjectNode tree = defaults(defaultsResource);
        if (file != null) {
            try {
                JsonNode user = YAML.readTree(file);
                if (user != null && !user.isMissingNode() && !user.isNull()) {
                    if (!user.isObject()) throw new ConfigException(fileName + ": a config file must be a mapping of sections");
                    merge(tree, (ObjectNode) user, "");
                }
            } catch (IOException e) {
                throw new ConfigException(fileName + ": cannot parse: " + e.getMessage());
            }
        }
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) throw new ConfigException("override '" + o + "' must look like section.key=value");
            set(tree, o.substring(0, eq).trim(), o.substring(eq + 1).trim());
        }
        try {
            return YAML.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            String key = path(e.getPath());
            throw new ConfigException("unknown config key '" + key + "'; known keys there: " + e.getKnownPropertyIds());
        } catch (JsonMappingException e) {
            String key = path(e.getPath());
            Class<?> target = e instanceof MismatchedInputException m ? m.getTargetType() : null;
            boolean whole = target == int.class || target == long.class || target == Integer.class || target == Long.class;
            InputCoercionException c = null;
            for (Throwable t = e.getCause(); t != null && c == null; t = t.getCause()) if (t instanceof InputCoercionException ice) c = ice;
            if (c != null) // Jackson's own message carries parser internals
                throw new ConfigException("config key '" + key + "' has value " + valueOf(tree, e.getPath()) + ", beyond the range of a whole number here ("
                        + (c.getTargetType() == Integer.TYPE ? Integer.MAX_VALUE : Long.MAX_VALUE) + " at most)");
            if (whole) throw new ConfigException("config key '" + key + "' must be a whole number, got " + valueOf(tree, e.getPath()));
            if (e instanceof InvalidFormatException f)
                throw new ConfigException("config key '" + key + "' has value " + f.getValue() + ", expected " + expected(f.getTargetType()));
            throw new ConfigException("config key '" + key + "' has the wrong type: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ConfigException("invalid config: " + e.getMessage());
        }
    }

    private static String expected(Class<?> type) {
        if (type == double.class || type == Double.class || type == float.class) return "a number";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        return type.getSimpleName();
    }

    /** The value the user gave at {@code refs}, as written. */
    private static String valueOf(ObjectNode tree, List<JsonMappingException.Reference> refs) {
        JsonNode n = tree;
        for (var r : refs) n = r.getFieldName() != null ? n.path(r.getFieldName()) : n.path(r.getIndex());
        return n.isMissingNode() ? "(missing)" : n.toString();
    }

    private static String firstLine(String s) {
        int nl = s == null ? -1 : s.indexOf('\n');
        return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
    }

    private static ObjectNode defaults(String resource) {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("not found");
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(resource + " missing from the jar", e);
        }
    }

    /** Lays {@code user} over {@code base}; a section that does not exist is an unknown key. */
    private static void merge(ObjectNode base, ObjectNode user, String prefix) {
        for (Iterator<Map.Entry<String, JsonNode>> it = user.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String key = prefix + f.getKey();
            JsonNode existing = base.get(f.getKey());
            if (existing == null) throw new ConfigException("unknown config key '" + key + "'; known keys there: " + names(base));
            if (existing.isObject() && f.getValue().isObject()) merge((ObjectNode) existing, (ObjectNode) f.getValue(), key + ".");
            else if (existing.isObject()) throw new ConfigException("config key '" + key + "' is a section; give it keys, not a value");
            else base.set(f.getKey(), f.getValue());
        }
    }

    private static void set(ObjectNode tree, String dotted, String value) {
        String[] parts = dotted.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode next = node.get(parts[i]);
            if (next == null || !next.isObject()) throw new ConfigException("unknown config key '" + dotted + "'; known sections: " + names(node));
            node = (ObjectNode) next;
        }
        String leaf = parts[parts.length - 1];
        if (!node.has(leaf)) throw new ConfigException("unknown config key '" + dotted + "'; known keys there: " + names(node));
        try {
            node.set(leaf, YAML.readTree(value.isEmpty() ? "''" : value));
        } catch (IOException e) {
            node.put(leaf, value);
        }
    }

    private static String names(ObjectNode n) {
        return "[" + String.join(", ", (Iterable<String>) n::fieldNames) + "]";
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        return refs.stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]").collect(Collectors.joining("."));
    }
}
