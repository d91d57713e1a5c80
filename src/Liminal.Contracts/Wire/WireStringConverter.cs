using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Liminal.Actors;

/// <summary>
/// Carries every string of the wire protocol exactly, also one that is not well-formed UTF-16, so the bus sees what
/// the client sent and rejects it, typed (<see cref="Validation.InputRules"/>). System.Text.Json alone would write a
/// lone surrogate as U+FFFD (the bus would take another id than the one sent) and refuse to read one (Akka.Remote would
/// drop the message: no answer at all).
/// </summary>
/// <remarks>
/// A lone surrogate is written as its <c>\uXXXX</c> escape; reading decodes escapes without pairing checks, and a byte
/// that is not UTF-8 becomes the lone surrogate U+DC80 + byte (which the bus then rejects as not well-formed).
/// </remarks>
internal sealed class WireStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException) when (reader.TokenType == JsonTokenType.String)
        {
            return Lenient(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        }
    }

    /// <summary>The current string token (a value or a property name) as sent, lone surrogates and bytes that are not UTF-8 kept.</summary>
    internal static string ReadExactly(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Lenient(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (Validation.TextRule.IsWellFormedUtf16(value))
        {
            writer.WriteStringValue(value);
            return;
        }
        var json = new StringBuilder(value.Length + 16).Append('"');
        foreach (var c in value)
        {
            if (c is >= ' ' and < '\u007f' and not '"' and not '\\')
                json.Append(c);
            else
                json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        writer.WriteRawValue(json.Append('"').ToString(), skipInputValidation: true);
    }

    /// <summary>Decodes the raw (escaped) bytes of a JSON string, keeping lone surrogates.</summary>
    private static string Lenient(ReadOnlySpan<byte> raw)
    {
        var text = new StringBuilder(raw.Length);
        var i = 0;
        while (i < raw.Length)
        {
            if (raw[i] == '\\' && i + 1 < raw.Length)
            {
                var escaped = raw[i + 1];
                if (escaped == 'u' && i + 6 <= raw.Length
                    && ushort.TryParse(Encoding.ASCII.GetString(raw.Slice(i + 2, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit))
                {
                    text.Append((char)unit);
                    i += 6;
                    continue;
                }
                text.Append(escaped switch
                {
                    (byte)'b' => '\b',
                    (byte)'f' => '\f',
                    (byte)'n' => '\n',
                    (byte)'r' => '\r',
                    (byte)'t' => '\t',
                    _ => (char)escaped,
                });
                i += 2;
                continue;
            }
            if (Rune.DecodeFromUtf8(raw[i..], out var rune, out var consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                i += consumed;
            }
            else
            {
                text.Append((char)(0xDC00 + raw[i]));
                i++;
            }
        }
        return text.ToString();
    }
}
