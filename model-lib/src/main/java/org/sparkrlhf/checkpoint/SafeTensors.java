package org.sparkrlhf.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Streams only, so callers can read
 * and write on any Hadoop FileSystem. Floating dtypes F32, F64, F16 and BF16 are read (converted to
 * float); tensors are written as F32.
 */
public final class SafeTensors {
    private SafeTensors() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    /** A named tensor: shape and values (row-major). */
    public record Entry(String name, long[] shape, float[] data) {
        public Entry {
            long n = 1;
            for (long s : shape) n *= s;
            if (n != data.length) throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
        }
    }

    /** The contents of a file: tensors in file order, plus the free-form string metadata. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {}

    public static void write(OutputStream out, Iterable<Entry> tensors, Map<String, String> metadata) throws IOException {
        write(out, tensors, metadata, "F32");
    }

    /** As above, the values stored as {@code dtype}: F32, or F16 / BF16 (rounded to nearest even). */
    public static void write(OutputStream out, Iterable<Entry> tensors, Map<String, String> metadata, String dtype) throws IOException {
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException("cannot write dtype " + dtype + "; use F32, F16 or BF16");
        };
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : tensors) {
            if (header.has(e.name())) throw new IllegalArgumentException("duplicate tensor name '" + e.name() + "'");
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", dtype);
            var shape = t.putArray("shape");
            for (long s : e.shape()) shape.add(s);
            t.putArray("data_offsets").add(offset).add(offset + (long) width * e.data().length);
            offset += (long) width * e.data().length;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // spaces keep the data 8-byte aligned
        byte[] head = Arrays.copyOf(json, padded);
        Arrays.fill(head, json.length, padded, (byte) ' ');
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(head);
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : tensors) {
            for (float f : e.data()) {
                if (!chunk.hasRemaining()) flush(out, chunk);
                if (width == 4) chunk.putFloat(f);
                else chunk.putShort(dtype.equals("F16") ? floatToHalf(f) : floatToBf16(f));
            }
        }
        flush(out, chunk);
        out.flush();
    }

    private static void flush(OutputStream out, ByteBuffer chunk) throws IOException {
        out.write(chunk.array(), 0, chunk.position());
        chunk.clear();
    }

    /** Reads a whole file. {@code source} names it in error messages. */
    public static Contents read(InputStream in, String source) throws IOException {
        byte[] lenBytes = in.readNBytes(8);
        if (lenBytes.length < 8) throw new IOException(source + ": not a safetensors file (shorter than its 8-byte header length)");
        long headerLen = ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER)
            throw new IOException(source + ": header length " + headerLen + " is not plausible; the file is not safetensors or is corrupted");
        byte[] headerBytes = in.readNBytes((int) headerLen);
        if (headerBytes.length < headerLen)
            throw new IOException(source + ": file is truncated inside its header (" + headerBytes.length + " of " + headerLen + " bytes)");
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new IOException(source + ": header is not valid JSON: " + e.getMessage(), e);
        }
        ByteArrayOutputStream rest = new ByteArrayOutputStream();
        in.transferTo(rest);
        ByteBuffer data = ByteBuffer.wrap(rest.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);

        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(f.getKey(), decode(f.getKey(), f.getValue(), data, source));
        }
        return new Contents(tensors, metadata);
    }

    private static Entry decode(String name, JsonNode t, ByteBuffer data, String source) throws IOException {
        String dtype = t.path("dtype").asText("");
        JsonNode shapeNode = t.path("shape"), offs = t.path("data_offsets");
        if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2)
            throw new IOException(source + ": tensor '" + name + "' has a malformed header entry (needs dtype, shape, data_offsets)");
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) count *= shape[i] = shapeNode.get(i).asLong();
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F64" -> 8;
            case "F16", "BF16" -> 2;
            default -> throw new IOException(source + ": tensor '" + name + "' has dtype " + dtype
                    + "; expected a floating type (F32, F64, F16 or BF16)");
        };
        long begin = offs.get(0).asLong(), end = offs.get(1).asLong();
        if (end - begin != count * width)
            throw new IOException(source + ": tensor '" + name + "' spans " + (end - begin) + " bytes but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + count * width);
        if (begin < 0 || end > data.capacity())
            throw new IOException(source + ": file is truncated: tensor '" + name + "' needs data bytes [" + begin + ", " + end
                    + ") but the file holds only " + data.capacity());
        if (count > Integer.MAX_VALUE) throw new IOException(source + ": tensor '" + name + "' is too large for one array");
        float[] out = new float[(int) count];
        int p = (int) begin;
        for (int i = 0; i < out.length; i++, p += width) {
            out[i] = switch (dtype) {
                case "F32" -> data.getFloat(p);
                case "F64" -> (float) data.getDouble(p);
                case "F16" -> halfToFloat(data.getShort(p));
                default -> Float.intBitsToFloat((data.getShort(p) & 0xffff) << 16); // BF16
            };
        }
        return new Entry(name, shape, out);
    }

    /** float to bfloat16: the upper 16 bits, rounded to nearest even (NaN stays NaN). */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** float to IEEE 754 binary16, rounded to nearest even; overflow to infinity, underflow through subnormals to zero. */
    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f), sign = (bits >>> 16) & 0x8000, exp = (bits >>> 23) & 0xff, mant = bits & 0x7fffff;
        if (exp == 0xff) return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0)); // inf, NaN
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);
        if (e <= 0) { // subnormal half (or zero): the value in units of 2^-24, rounded to nearest even
            if (e < -10) return (short) sign;
            int m = mant | 0x800000, shift = 14 - e;
            int half = m >>> shift, rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
            if (rest > mid || rest == mid && (half & 1) == 1) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
        if (rest > 0x1000 || rest == 0x1000 && (half & 1) == 1) half++; // a carry into the exponent is right, up to infinity
        return (short) (sign | half);
    }

    /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int sign = (h & 0x8000) << 16, exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13)); // inf, NaN
        if (exp == 0) { // zero or subnormal: mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
