using System.Text.Json;
using System.Text.Json.Serialization;

namespace Liminal.Actors;

/// <summary>
/// An envelope's headers on the wire: the same JSON object as before, its names read like every other string of the
/// protocol (<see cref="WireStringConverter"/>). System.Text.Json reads a dictionary's keys itself, strictly: a name of
/// bytes that are not UTF-8 would make the whole message undecodable, and Akka.Remote drops it without an answer. Read
/// leniently, the bus gets the name and rejects it, typed.
/// </summary>
internal sealed class WireHeadersConverter : JsonConverter<IReadOnlyDictionary<string, string>>
{
    private static readonly WireStringConverter Strings = new();

    public override IReadOnlyDictionary<string, string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"headers must be a JSON object, not {reader.TokenType}");
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = WireStringConverter.ReadExactly(ref reader);
            reader.Read();
            // A null or non-string value stays visible to the bus's check (a missing value), not a decoding failure.
            headers[name] = reader.TokenType == JsonTokenType.String ? Strings.Read(ref reader, typeof(string), options)! : Skip(ref reader);
        }
        if (reader.TokenType != JsonTokenType.EndObject)
            throw new JsonException("headers must be a JSON object of strings");
        return headers;
    }

    private static string Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null!;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, text) in value)
        {
            writer.WritePropertyName(name);
            if (text is null)
                writer.WriteNullValue();
            else
                Strings.Write(writer, text, options);
        }
        writer.WriteEndObject();
    }
}
