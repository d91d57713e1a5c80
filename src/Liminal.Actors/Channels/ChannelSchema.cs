using System.Text.Json;
using NJsonSchema;

namespace Liminal.Actors.Channels;

/// <summary>A channel's payload check: well-formed JSON, and valid against the channel's JSON Schema when it has one.</summary>
public sealed class ChannelSchema
{
    private readonly JsonSchema? _schema;

    private ChannelSchema(JsonSchema? schema) => _schema = schema;

    public static ChannelSchema AnyJson { get; } = new(null);

    /// <summary>A schema file larger than this is refused (a device such as <c>/dev/zero</c> never ends).</summary>
    public const int MaxSchemaBytes = 1024 * 1024;

    /// <summary>How long a schema file may take to read by default (<c>liminal.channel-limits.schema-load-timeout</c>).</summary>
    public static readonly TimeSpan DefaultLoadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Loads the schema file of a definition; the error names the file and what is wrong with it.</summary>
    /// <remarks>Runs on the calling thread until the file is open: a FIFO blocks it until a writer comes. Actors use <see cref="LoadWithin"/>.</remarks>
    public static async Task<(ChannelSchema? Schema, string? Error)> LoadAsync(ChannelDefinition definition)
    {
        if (definition.SchemaPath is null)
            return (AnyJson, null);
        try
        {
            var text = await ReadBoundedAsync(definition.SchemaPath);
            return (new ChannelSchema(await JsonSchema.FromJsonAsync(text)), null);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // The path comes from a client: whatever it names (no file, a directory, a malformed path, not a schema)
            // is a typed rejection, never an exception in the registry.
            return (null, $"schema '{definition.SchemaPath}' cannot be used: {error.Message}");
        }
    }

    /// <summary>
    /// Loads the schema on a thread-pool thread: <c>Result</c> is its outcome, or a "could not be read" error once
    /// <paramref name="timeout"/> has passed; <c>Finished</c> completes when the read itself is over, which for a
    /// file that never answers (a FIFO nobody writes, a hung mount) is never: it holds a thread-pool thread meanwhile.
    /// </summary>
    public static (Task<(ChannelSchema? Schema, string? Error)> Result, Task Finished) LoadWithin(ChannelDefinition definition, TimeSpan timeout)
    {
        var load = Task.Run(() => LoadAsync(definition));
        return (WithTimeoutAsync(load, definition, timeout), load);
    }

    private static async Task<(ChannelSchema? Schema, string? Error)> WithTimeoutAsync(
        Task<(ChannelSchema? Schema, string? Error)> load, ChannelDefinition definition, TimeSpan timeout)
    {
        try
        {
            return await load.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return (null, $"schema '{definition.SchemaPath}' could not be read within {timeout.TotalSeconds:0.###} s " +
                          "(a FIFO, a device or an unresponsive file system?)");
        }
    }

    private static async Task<string> ReadBoundedAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
        var bytes = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await file.ReadAsync(chunk)) > 0)
        {
            if (bytes.Length + read > MaxSchemaBytes)
                throw new IOException($"the file is larger than {MaxSchemaBytes} bytes");
            bytes.Write(chunk, 0, read);
        }
        bytes.Position = 0;
        using var reader = new StreamReader(bytes, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return await reader.ReadToEndAsync();
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
