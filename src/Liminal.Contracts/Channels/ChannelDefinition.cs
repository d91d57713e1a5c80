namespace Liminal.Actors.Channels;

/// <summary>A named channel: durable channels keep a log per partition; <c>SchemaPath</c> names a JSON Schema file.</summary>
public sealed record ChannelDefinition(string Name, bool Durable, string? SchemaPath = null, int Partitions = 1);
