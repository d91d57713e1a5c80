using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Liminal.Actors;

/// <summary>Marker of every public request and reply of the bus: what crosses the wire to remote clients.</summary>
public interface ILiminalMessage;

/// <summary>
/// Serializes the public protocol for Akka.Remote as JSON under stable manifests: the message's name within its
/// concern (<c>Dedup.ClaimOrGet</c>, <c>Dedup.DedupDecision+Claimed</c>), never an assembly-qualified .NET type
/// name, so client and host need not run the same build. Those names are the public contract (SPEC §2.5) and
/// do not change; actor refs travel as their full paths.
/// </summary>
public sealed class LiminalWireSerializer : SerializerWithStringManifest
{
    public const int Id = 7412;
    private const string Prefix = "Liminal.Actors.";

    private static readonly FrozenDictionary<Type, string> ManifestByType = typeof(ILiminalMessage).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false, IsPublic: true } or { IsClass: true, IsAbstract: false, IsNestedPublic: true })
        .Where(t => typeof(ILiminalMessage).IsAssignableFrom(t) && t.FullName!.StartsWith(Prefix, StringComparison.Ordinal))
        .ToFrozenDictionary(t => t, t => t.FullName![Prefix.Length..]);

    private static readonly FrozenDictionary<string, Type> TypeByManifest =
        ManifestByType.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    private readonly JsonSerializerOptions _json;

    public LiminalWireSerializer(ExtendedActorSystem system) : base(system)
    {
        _json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new ActorRefConverter(system), new WireStringConverter() } };
    }

    public override int Identifier => Id;

    /// <summary>Every wire message and its manifest.</summary>
    public static IReadOnlyDictionary<Type, string> Manifests => ManifestByType;

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not a Liminal wire message");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _json);

    public override object FromBinary(byte[] bytes, string manifest) =>
        TypeByManifest.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, _json) ?? throw new SerializationException($"Empty payload for {manifest}")
            : throw new SerializationException($"Unknown Liminal wire manifest '{manifest}'");

    private sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override IActorRef? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetString() is { } path ? system.Provider.ResolveActorRef(path) : null;

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
    }
}
