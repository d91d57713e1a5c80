using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;

namespace Liminal.Actors.Persistence;

/// <summary>Marker of every event Liminal writes to a journal.</summary>
public interface ILiminalEvent;

/// <summary>Marker of every snapshot Liminal writes to a snapshot store.</summary>
public interface ILiminalSnapshot;

/// <summary>
/// Stores Liminal's events and snapshots as JSON under stable string manifests, so renaming or moving a
/// CLR type never breaks replay of an existing journal. A manifest, once shipped, never changes meaning.
/// </summary>
public sealed class LiminalEventSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id recorded beside every Liminal event in the journal.</summary>
    public const int Id = 7411;

    /// <summary>Every persisted type and its manifest.</summary>
    public static IReadOnlyDictionary<Type, string> Manifests => ManifestByType;

    private static readonly FrozenDictionary<Type, string> ManifestByType = new Dictionary<Type, string>
    {
        [typeof(EventBatch)] = "liminal.event-batch.v1",
        [typeof(KeyClaimed)] = "dedup.key-claimed.v1",
        [typeof(KeyCompleted)] = "dedup.key-completed.v1",
        [typeof(KeyClaimedAndCompleted)] = "dedup.key-claimed-and-completed.v1",
        [typeof(KeyReleased)] = "dedup.key-released.v1",
        [typeof(KeysExpired)] = "dedup.keys-expired.v1",
        [typeof(KeysEvicted)] = "dedup.keys-evicted.v1",
        [typeof(DedupShardSnapshot)] = "dedup.shard-snapshot.v1",
        [typeof(MessageReceived)] = "conversation.message-received.v1",
        [typeof(ProcessingStarted)] = "conversation.processing-started.v1",
        [typeof(StepCompleted)] = "conversation.step-completed.v1",
        [typeof(ProcessingFinished)] = "conversation.processing-finished.v1",
        [typeof(ErrorOccurred)] = "conversation.error-occurred.v1",
        [typeof(StepOutputsCompacted)] = "conversation.step-outputs-compacted.v1",
        [typeof(ConversationStateSnapshot)] = "conversation.state-snapshot.v1",
        [typeof(MessageAppended)] = "channel.message-appended.v1",
        [typeof(ChannelPartitionSnapshot)] = ChannelPartitionSnapshotFormat.Manifest,
        [typeof(ChannelDefined)] = "channel.defined.v1",
        [typeof(ChannelDefinitionsSnapshot)] = "channel.definitions-snapshot.v1",
        [typeof(OffsetAdvanced)] = "offsets.offset-advanced.v1",
        [typeof(EventProcessed)] = "offsets.event-processed.v1",
        [typeof(OffsetsSnapshot)] = "offsets.snapshot.v1",
        [typeof(MessageLeased)] = "conversation.message-leased.v1",
        [typeof(Consumers.ConsumerStarted)] = "consumer.started.v1",
        [typeof(Consumers.MessagesAcked)] = "consumer.messages-acked.v1",
        [typeof(Consumers.MessageAttempted)] = "consumer.message-attempted.v1",
        [typeof(Consumers.MessageDeadLettered)] = "consumer.message-dead-lettered.v1",
        [typeof(Consumers.ConsumerMessagesSkipped)] = "consumer.messages-skipped.v1",
        [typeof(Consumers.ConsumerPartitionSnapshot)] = "consumer.partition-snapshot.v1",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> TypeByManifest =
        ManifestByType.Append(KeyValuePair.Create(typeof(ChannelPartitionSnapshot), ChannelPartitionSnapshotFormat.JsonManifest))
            .ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public LiminalEventSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} has no Liminal manifest; add one to {nameof(LiminalEventSerializer)}.");

    public override byte[] ToBinary(object obj)
    {
        _ = Manifest(obj);
        return obj switch
        {
            EventBatch batch => BatchToBinary(batch),
            ChannelPartitionSnapshot snapshot => ChannelPartitionSnapshotFormat.ToBinary(snapshot),
            _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json),
        };
    }

    public override object FromBinary(byte[] bytes, string manifest) =>
        manifest == BatchManifest ? BatchFromBinary(bytes)
        : manifest == ChannelPartitionSnapshotFormat.Manifest ? ChannelPartitionSnapshotFormat.FromBinary(bytes)
        : JsonSerializer.Deserialize(bytes, TypeOf(manifest), Json) ?? throw new SerializationException($"Empty payload for {manifest}");

    private static readonly string BatchManifest = ManifestByType[typeof(EventBatch)];

    // {"events":[{"manifest":"dedup.key-claimed.v1","event":{...}}, ...]}: each event under its own stable manifest.
    private byte[] BatchToBinary(EventBatch batch)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 * batch.Events.Count + 16);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("events");
            foreach (var @event in batch.Events)
            {
                if (@event is EventBatch)
                    throw new ArgumentException("An event batch cannot hold another batch.");
                writer.WriteStartObject();
                writer.WriteString("manifest", Manifest(@event));
                writer.WritePropertyName("event");
                JsonSerializer.Serialize(writer, @event, @event.GetType(), Json);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static EventBatch BatchFromBinary(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        var events = new List<ILiminalEvent>();
        foreach (var element in document.RootElement.GetProperty("events").EnumerateArray())
        {
            var manifest = element.GetProperty("manifest").GetString() ?? "";
            if (manifest == BatchManifest || element.GetProperty("event").Deserialize(TypeOf(manifest), Json) is not ILiminalEvent @event)
                throw new SerializationException($"'{manifest}' cannot be an event of a batch");
            events.Add(@event);
        }
        return new EventBatch(events);
    }

    private static Type TypeOf(string manifest) =>
        TypeByManifest.TryGetValue(manifest, out var type)
            ? type
            : throw new SerializationException($"Unknown Liminal manifest '{manifest}'");

    /// <summary>
    /// Fails fast when the actor system was created without Liminal's serialization bindings (the
    /// <c>akka.actor</c> part of <see cref="LiminalSettings.DefaultConfig"/>): events written without them would
    /// be stored as type-name JSON and break replay on the first rename.
    /// </summary>
    internal static void EnsureBound(ActorSystem system)
    {
        if (system.Serialization.FindSerializerForType(typeof(KeyClaimed)) is not LiminalEventSerializer)
            throw new InvalidOperationException(
                "Liminal's event serializer is not bound: create the ActorSystem with LiminalSettings.DefaultConfig " +
                "as a fallback (Akka.Hosting's WithLiminal adds it).");
    }
}
