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

    /// <summary>Null when the payload is acceptable, else what is wrong with it (with the failing paths).</summary>
    public string? Check(byte[] payload)
    {
        string json;
        try
        {
            using var document = JsonDocument.Parse(payload);
            json = document.RootElement.GetRawText();
        }
        catch (JsonException error)
        {
            return $"payload is not JSON: {error.Message}";
        }
        catch (ArgumentException error)
        {
            return $"payload is not JSON: {error.Message}";
        }

        if (_schema is null)
            return null;
        var errors = _schema.Validate(json);
        return errors.Count == 0
            ? null
            : "payload violates the channel schema: " + string.Join("; ", errors.Select(e => $"{(string.IsNullOrEmpty(e.Path) ? "#" : e.Path)}: {e.Kind}"));
    }
}
