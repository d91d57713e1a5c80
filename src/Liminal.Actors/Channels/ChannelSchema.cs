using System.Text.Json;
using NJsonSchema;

namespace Liminal.Actors.Channels;

/// <summary>A channel's payload check: well-formed JSON, and valid against the channel's JSON Schema when it has one.</summary>
public sealed class ChannelSchema
{
    private readonly JsonSchema? _schema;

    private ChannelSchema(JsonSchema? schema) => _schema = schema;

    public static ChannelSchema AnyJson { get; } = new(null);

    /// <summary>Loads the schema file of a definition; the error names the file and what is wrong with it.</summary>
    public static async Task<(ChannelSchema? Schema, string? Error)> LoadAsync(ChannelDefinition definition)
    {
        if (definition.SchemaPath is null)
            return (AnyJson, null);
        try
        {
            var text = await File.ReadAllTextAsync(definition.SchemaPath);
            return (new ChannelSchema(await JsonSchema.FromJsonAsync(text)), null);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or Newtonsoft.Json.JsonException or InvalidOperationException)
        {
            return (null, $"schema '{definition.SchemaPath}' cannot be used: {error.Message}");
        }
    }

    /// <summary>
    /// Null when the payload is acceptable, else what is wrong with it (with the failing paths). Never throws: whatever
    /// the payload is, the publisher gets <see cref="PublishFailure.SchemaMismatch"/> and the channel stays up.
    /// </summary>
    public string? Check(byte[] payload)
    {
        // JSON is UTF-8: invalid bytes inside a string pass the parser and only fail when the string is read.
        if (InvalidUtf8At(payload) is { } offset)
            return $"payload is not JSON: invalid UTF-8 at byte {offset}";
        try
        {
            string json;
            using (var document = JsonDocument.Parse(payload))
                json = document.RootElement.GetRawText();
            if (_schema is null)
                return null;
            var errors = _schema.Validate(json);
            return errors.Count == 0
                ? null
                : "payload violates the channel schema: " + string.Join("; ", errors.Select(e => $"{(string.IsNullOrEmpty(e.Path) ? "#" : e.Path)}: {e.Kind}"));
        }
        catch (JsonException error)
        {
            return $"payload is not JSON: {error.Message}";
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // The parser or the schema validator failed on this payload (e.g. nesting deeper than it reads): the payload
            // cannot be accepted, and a router must never throw on what a client sends.
            return $"payload cannot be checked against the channel schema: {error.GetType().Name}: {error.Message}";
        }
    }

    private static int? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
                return offset;
            offset += consumed;
        }
        return null;
    }
}
