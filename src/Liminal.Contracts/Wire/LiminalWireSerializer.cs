using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Liminal.Actors;

/// <summary>Marker of every public request and reply of the bus: what crosses the wire to remote clients.</summary>
public interface ILiminalMessage;

/// <summary>
/// Serializes the public protocol for Akka.Remote as JSON under stable manifests: the message's name within its
/// concern (<c>Dedup.ClaimOrGet</c>, <c>Dedup.DedupDecision+Claimed</c>), never an assembly-qualified .NET type
/// name, so client and host need not run the same build. Those names are the public contract (SPEC §2.5) and
/// do not change: they are written out in <see cref="Manifests"/>, so renaming or moving a type cannot change one,
/// and a new message type gets its name there. Actor refs travel as their full paths.
/// </summary>
public sealed class LiminalWireSerializer : SerializerWithStringManifest
{
    public const int Id = 7412;

    // The names these types had under Liminal.Actors (namespace within it, '+' for a nested type) when the names
    // were first published; a type's name may change, its manifest never.
    private static readonly FrozenDictionary<Type, string> ManifestByType = new Dictionary<Type, string>
    {
        [typeof(Channels.ChannelCreated)] = "Channels.ChannelCreated",
        [typeof(Channels.ChannelList)] = "Channels.ChannelList",
        [typeof(Channels.ChannelRejected)] = "Channels.ChannelRejected",
        [typeof(Channels.CreateChannel)] = "Channels.CreateChannel",
        [typeof(Channels.DeliveriesDropped)] = "Channels.DeliveriesDropped",
        [typeof(Channels.Delivery)] = "Channels.Delivery",
        [typeof(Channels.DeliveryAck)] = "Channels.DeliveryAck",
        [typeof(Channels.DrainPublishes)] = "Channels.DrainPublishes",
        [typeof(Channels.Drained)] = "Channels.Drained",
        [typeof(Channels.GetChannels)] = "Channels.GetChannels",
        [typeof(Channels.Publish)] = "Channels.Publish",
        [typeof(Channels.PublishAck)] = "Channels.PublishAck",
        [typeof(Channels.PublishRejected)] = "Channels.PublishRejected",
        [typeof(Channels.Replay)] = "Channels.Replay",
        [typeof(Channels.ReplayCompleted)] = "Channels.ReplayCompleted",
        [typeof(Channels.Subscribe)] = "Channels.Subscribe",
        [typeof(Channels.Subscribed)] = "Channels.Subscribed",
        [typeof(Channels.Unsubscribe)] = "Channels.Unsubscribe",
        [typeof(Channels.Unsubscribed)] = "Channels.Unsubscribed",
        [typeof(Channels.Ack)] = "Channels.Ack",
        [typeof(Channels.Acked)] = "Channels.Acked",
        [typeof(Channels.AckRejected)] = "Channels.AckRejected",
        [typeof(Channels.ChannelPurged)] = "Channels.ChannelPurged",
        [typeof(Channels.ConsumerDeleted)] = "Channels.ConsumerDeleted",
        [typeof(Channels.ConsumerInfo)] = "Channels.ConsumerInfo",
        [typeof(Channels.ConsumerOptions)] = "Channels.ConsumerOptions",
        [typeof(Channels.ConsumerSubscribed)] = "Channels.ConsumerSubscribed",
        [typeof(Channels.DeadLettered)] = "Channels.DeadLettered",
        [typeof(Channels.DeleteConsumer)] = "Channels.DeleteConsumer",
        [typeof(Channels.DeliverFrom.All)] = "Channels.DeliverFrom+All",
        [typeof(Channels.DeliverFrom.New)] = "Channels.DeliverFrom+New",
        [typeof(Channels.DeliverFrom.Sequence)] = "Channels.DeliverFrom+Sequence",
        [typeof(Channels.GetConsumerInfo)] = "Channels.GetConsumerInfo",
        [typeof(Channels.MessagesSkipped)] = "Channels.MessagesSkipped",
        [typeof(Channels.Nak)] = "Channels.Nak",
        [typeof(Channels.PartitionConsumerInfo)] = "Channels.PartitionConsumerInfo",
        [typeof(Channels.PurgeChannel)] = "Channels.PurgeChannel",
        [typeof(Channels.RedriveDeadLetter)] = "Channels.RedriveDeadLetter",
        [typeof(Channels.Redelivering)] = "Channels.Redelivering",
        [typeof(Channels.SubscribeDurable)] = "Channels.SubscribeDurable",
        [typeof(Channels.Term)] = "Channels.Term",

        [typeof(Conversations.ConversationRejected)] = "Conversations.ConversationRejected",
        [typeof(Conversations.ConversationSnapshot)] = "Conversations.ConversationSnapshot",
        [typeof(Conversations.EventRecorded)] = "Conversations.EventRecorded",
        [typeof(Conversations.GetConversationState)] = "Conversations.GetConversationState",
        [typeof(Conversations.GetStepOutput)] = "Conversations.GetStepOutput",
        [typeof(Conversations.ReceiveMessage)] = "Conversations.ReceiveMessage",
        [typeof(Conversations.RecordError)] = "Conversations.RecordError",
        [typeof(Conversations.RecordProcessingFinished)] = "Conversations.RecordProcessingFinished",
        [typeof(Conversations.RecordProcessingStarted)] = "Conversations.RecordProcessingStarted",
        [typeof(Conversations.RecordStepCompleted)] = "Conversations.RecordStepCompleted",
        [typeof(Conversations.RedeliveryDecision.InProgress)] = "Conversations.RedeliveryDecision+InProgress",
        [typeof(Conversations.RedeliveryDecision.ResumeFrom)] = "Conversations.RedeliveryDecision+ResumeFrom",
        [typeof(Conversations.RedeliveryDecision.Skip)] = "Conversations.RedeliveryDecision+Skip",
        [typeof(Conversations.RedeliveryDecision.Start)] = "Conversations.RedeliveryDecision+Start",
        [typeof(Conversations.StepOutput)] = "Conversations.StepOutput",

        [typeof(Dedup.ClaimOrComplete)] = "Dedup.ClaimOrComplete",
        [typeof(Dedup.ClaimOrGet)] = "Dedup.ClaimOrGet",
        [typeof(Dedup.ClaimReleased)] = "Dedup.ClaimReleased",
        [typeof(Dedup.CompleteReceipt)] = "Dedup.CompleteReceipt",
        [typeof(Dedup.DedupDecision.Claimed)] = "Dedup.DedupDecision+Claimed",
        [typeof(Dedup.DedupDecision.Completed)] = "Dedup.DedupDecision+Completed",
        [typeof(Dedup.DedupDecision.InFlight)] = "Dedup.DedupDecision+InFlight",
        [typeof(Dedup.DedupRejected)] = "Dedup.DedupRejected",
        [typeof(Dedup.IdempotencyResult.Duplicate)] = "Dedup.IdempotencyResult+Duplicate",
        [typeof(Dedup.IdempotencyResult.InFlight)] = "Dedup.IdempotencyResult+InFlight",
        [typeof(Dedup.IdempotencyResult.New)] = "Dedup.IdempotencyResult+New",
        [typeof(Dedup.KeyStatus)] = "Dedup.KeyStatus",
        [typeof(Dedup.LookupKey)] = "Dedup.LookupKey",
        [typeof(Dedup.ReceiptStored)] = "Dedup.ReceiptStored",
        [typeof(Dedup.ReleaseClaim)] = "Dedup.ReleaseClaim",
        [typeof(Dedup.SweepExpired)] = "Dedup.SweepExpired",
        [typeof(Dedup.SweepFailed)] = "Dedup.SweepFailed",
        [typeof(Dedup.SweepReport)] = "Dedup.SweepReport",
        [typeof(Dedup.TakeOverClaim)] = "Dedup.TakeOverClaim",

        [typeof(Entities.EntityStats)] = "Entities.EntityStats",
        [typeof(Entities.GetEntityStats)] = "Entities.GetEntityStats",

        [typeof(Offsets.CommitOffset)] = "Offsets.CommitOffset",
        [typeof(Offsets.CurrentOffset)] = "Offsets.CurrentOffset",
        [typeof(Offsets.GetOffset)] = "Offsets.GetOffset",
        [typeof(Offsets.OffsetCommitted)] = "Offsets.OffsetCommitted",
        [typeof(Offsets.OffsetRejected)] = "Offsets.OffsetRejected",
        [typeof(Offsets.OffsetRequestRejected)] = "Offsets.OffsetRequestRejected",
        [typeof(Offsets.ProcessedRecorded)] = "Offsets.ProcessedRecorded",
        [typeof(Offsets.ProcessedStatus)] = "Offsets.ProcessedStatus",
        [typeof(Offsets.RecordProcessed)] = "Offsets.RecordProcessed",
        [typeof(Offsets.WasProcessed)] = "Offsets.WasProcessed",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> TypeByManifest =
        ManifestByType.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    private readonly JsonSerializerOptions _json;

    public LiminalWireSerializer(ExtendedActorSystem system) : base(system)
    {
        _json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new ActorRefConverter(system), new WireStringConverter(), new WireHeadersConverter() } };
    }

    public override int Identifier => Id;

    /// <summary>
    /// The HOCON that binds this serializer to <see cref="ILiminalMessage"/> under its fixed <see cref="Id"/>: what a
    /// client's actor system needs (the host's gets it through <c>LiminalSettings.DefaultConfig</c>).
    /// </summary>
    public static Config Binding { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.liminal-wire = "{{typeof(LiminalWireSerializer).FullName}}, {{typeof(LiminalWireSerializer).Assembly.GetName().Name}}"
          serialization-bindings {
            "{{typeof(ILiminalMessage).FullName}}, {{typeof(ILiminalMessage).Assembly.GetName().Name}}" = liminal-wire
          }
          serialization-identifiers {
            "{{typeof(LiminalWireSerializer).FullName}}, {{typeof(LiminalWireSerializer).Assembly.GetName().Name}}" = {{Id}}
          }
        }
        """);

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
