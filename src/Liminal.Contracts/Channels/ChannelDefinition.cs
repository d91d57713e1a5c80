using System.Text.Json.Serialization;

namespace Liminal.Actors.Channels;

/// <summary>A named channel: durable channels keep a log per partition; <c>SchemaPath</c> names a JSON Schema file.</summary>
public sealed record ChannelDefinition(string Name, bool Durable, string? SchemaPath = null, int Partitions = 1)
{
    /// <summary>
    /// A durable channel's messages older than this (on the bus clock) are deleted, as JetStream's <c>max_age</c>; null keeps
    /// them. HOCON <c>max-age</c>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TimeSpan? MaxAge { get; init; }

    /// <summary>
    /// A durable channel keeps at most this many messages per partition, deleting the oldest first; null keeps them all.
    /// HOCON <c>max-messages-per-partition</c>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? MaxMessagesPerPartition { get; init; }
}
