using System.Reflection;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using System.Runtime.Serialization;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Wire;

/// <summary>
/// The wire manifests are the public contract (SPEC §2.5): a client built against any earlier version names its
/// messages so. Each is pinned here by hand, not read off the serializer, so a rename, a move or a new message type
/// without a manifest of its own fails here before it reaches a client.
/// </summary>
public sealed class WireManifestSpecs : LiminalTestKit
{
    private static readonly (Type Type, string Manifest)[] Pinned =
    [
        (typeof(ChannelCreated), "Channels.ChannelCreated"),
        (typeof(ChannelList), "Channels.ChannelList"),
        (typeof(ChannelRejected), "Channels.ChannelRejected"),
        (typeof(CreateChannel), "Channels.CreateChannel"),
        (typeof(DeliveriesDropped), "Channels.DeliveriesDropped"),
        (typeof(Delivery), "Channels.Delivery"),
        (typeof(DeliveryAck), "Channels.DeliveryAck"),
        (typeof(DrainPublishes), "Channels.DrainPublishes"),
        (typeof(Drained), "Channels.Drained"),
        (typeof(GetChannels), "Channels.GetChannels"),
        (typeof(Publish), "Channels.Publish"),
        (typeof(PublishAck), "Channels.PublishAck"),
        (typeof(PublishRejected), "Channels.PublishRejected"),
        (typeof(Replay), "Channels.Replay"),
        (typeof(ReplayCompleted), "Channels.ReplayCompleted"),
        (typeof(Subscribe), "Channels.Subscribe"),
        (typeof(Subscribed), "Channels.Subscribed"),
        (typeof(Unsubscribe), "Channels.Unsubscribe"),
        (typeof(Unsubscribed), "Channels.Unsubscribed"),
        (typeof(Ack), "Channels.Ack"),
        (typeof(Acked), "Channels.Acked"),
        (typeof(AckRejected), "Channels.AckRejected"),
        (typeof(ChannelPurged), "Channels.ChannelPurged"),
        (typeof(ConsumerDeleted), "Channels.ConsumerDeleted"),
        (typeof(ConsumerInfo), "Channels.ConsumerInfo"),
        (typeof(ConsumerOptions), "Channels.ConsumerOptions"),
        (typeof(ConsumerSubscribed), "Channels.ConsumerSubscribed"),
        (typeof(DeadLettered), "Channels.DeadLettered"),
        (typeof(DeleteConsumer), "Channels.DeleteConsumer"),
        (typeof(DeliverFrom.All), "Channels.DeliverFrom+All"),
        (typeof(DeliverFrom.New), "Channels.DeliverFrom+New"),
        (typeof(DeliverFrom.Sequence), "Channels.DeliverFrom+Sequence"),
        (typeof(GetConsumerInfo), "Channels.GetConsumerInfo"),
        (typeof(MessagesSkipped), "Channels.MessagesSkipped"),
        (typeof(Nak), "Channels.Nak"),
        (typeof(PartitionConsumerInfo), "Channels.PartitionConsumerInfo"),
        (typeof(PurgeChannel), "Channels.PurgeChannel"),
        (typeof(RedriveDeadLetter), "Channels.RedriveDeadLetter"),
        (typeof(Redelivering), "Channels.Redelivering"),
        (typeof(SubscribeDurable), "Channels.SubscribeDurable"),
        (typeof(Term), "Channels.Term"),

        (typeof(ConversationRejected), "Conversations.ConversationRejected"),
        (typeof(ConversationSnapshot), "Conversations.ConversationSnapshot"),
        (typeof(EventRecorded), "Conversations.EventRecorded"),
        (typeof(GetConversationState), "Conversations.GetConversationState"),
        (typeof(GetStepOutput), "Conversations.GetStepOutput"),
        (typeof(ReceiveMessage), "Conversations.ReceiveMessage"),
        (typeof(RecordError), "Conversations.RecordError"),
        (typeof(RecordProcessingFinished), "Conversations.RecordProcessingFinished"),
        (typeof(RecordProcessingStarted), "Conversations.RecordProcessingStarted"),
        (typeof(RecordStepCompleted), "Conversations.RecordStepCompleted"),
        (typeof(RedeliveryDecision.InProgress), "Conversations.RedeliveryDecision+InProgress"),
        (typeof(RedeliveryDecision.ResumeFrom), "Conversations.RedeliveryDecision+ResumeFrom"),
        (typeof(RedeliveryDecision.Skip), "Conversations.RedeliveryDecision+Skip"),
        (typeof(RedeliveryDecision.Start), "Conversations.RedeliveryDecision+Start"),
        (typeof(StepOutput), "Conversations.StepOutput"),

        (typeof(ClaimOrComplete), "Dedup.ClaimOrComplete"),
        (typeof(ClaimOrGet), "Dedup.ClaimOrGet"),
        (typeof(ClaimReleased), "Dedup.ClaimReleased"),
        (typeof(CompleteReceipt), "Dedup.CompleteReceipt"),
        (typeof(DedupDecision.Claimed), "Dedup.DedupDecision+Claimed"),
        (typeof(DedupDecision.Completed), "Dedup.DedupDecision+Completed"),
        (typeof(DedupDecision.InFlight), "Dedup.DedupDecision+InFlight"),
        (typeof(DedupRejected), "Dedup.DedupRejected"),
        (typeof(IdempotencyResult.Duplicate), "Dedup.IdempotencyResult+Duplicate"),
        (typeof(IdempotencyResult.InFlight), "Dedup.IdempotencyResult+InFlight"),
        (typeof(IdempotencyResult.New), "Dedup.IdempotencyResult+New"),
        (typeof(KeyStatus), "Dedup.KeyStatus"),
        (typeof(LookupKey), "Dedup.LookupKey"),
        (typeof(ReceiptStored), "Dedup.ReceiptStored"),
        (typeof(ReleaseClaim), "Dedup.ReleaseClaim"),
        (typeof(SweepExpired), "Dedup.SweepExpired"),
        (typeof(SweepFailed), "Dedup.SweepFailed"),
        (typeof(SweepReport), "Dedup.SweepReport"),
        (typeof(TakeOverClaim), "Dedup.TakeOverClaim"),

        (typeof(EntityStats), "Entities.EntityStats"),
        (typeof(GetEntityStats), "Entities.GetEntityStats"),

        (typeof(CommitOffset), "Offsets.CommitOffset"),
        (typeof(CurrentOffset), "Offsets.CurrentOffset"),
        (typeof(GetOffset), "Offsets.GetOffset"),
        (typeof(OffsetCommitted), "Offsets.OffsetCommitted"),
        (typeof(OffsetRejected), "Offsets.OffsetRejected"),
        (typeof(OffsetRequestRejected), "Offsets.OffsetRequestRejected"),
        (typeof(ProcessedRecorded), "Offsets.ProcessedRecorded"),
        (typeof(ProcessedStatus), "Offsets.ProcessedStatus"),
        (typeof(RecordProcessed), "Offsets.RecordProcessed"),
        (typeof(WasProcessed), "Offsets.WasProcessed"),
    ];

    [Fact]
    public void Every_wire_manifest_is_the_pinned_one_and_there_is_no_other()
    {
        var pinned = Pinned.ToDictionary(p => p.Type, p => p.Manifest);
        var actual = LiminalWireSerializer.Manifests.ToDictionary(m => m.Key, m => m.Value);

        Assert.Equal(Pinned.Length, pinned.Count);
        Assert.Empty(actual.Where(m => !pinned.TryGetValue(m.Key, out var manifest) || manifest != m.Value)
            .Select(m => $"{m.Key.FullName} -> {m.Value}"));
        Assert.Empty(pinned.Keys.Except(actual.Keys).Select(t => t.FullName));
    }

    [Fact]
    public void Every_public_message_type_of_the_bus_and_its_client_has_a_pinned_manifest()
    {
        Assembly[] assemblies = [typeof(ILiminalMessage).Assembly, typeof(LiminalSettings).Assembly, typeof(Liminal.Client.LiminalClient).Assembly];
        var messageTypes = assemblies.SelectMany(a => a.GetTypes())
            .Where(t => typeof(ILiminalMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .ToList();
        var pinned = Pinned.Select(p => p.Type).ToHashSet();

        Assert.NotEmpty(messageTypes);
        Assert.Empty(messageTypes.Where(t => !pinned.Contains(t)).Select(t => t.FullName));
    }

    [Fact]
    public void The_actor_system_sends_every_message_type_through_the_wire_serializer_under_the_pinned_identifier()
    {
        foreach (var (type, _) in Pinned)
            Assert.Equal(LiminalWireSerializer.Id, Sys.Serialization.FindSerializerForType(type).Identifier);
        Assert.Equal(7412, LiminalWireSerializer.Id);
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_a_serialization_error_naming_it()
    {
        var serializer = Sys.Serialization.FindSerializerForType(typeof(ClaimOrGet));

        var error = Assert.Throws<SerializationException>(() => Sys.Serialization.Deserialize("{}"u8.ToArray(), serializer.Identifier, "Dedup.NoSuchMessage"));
        Assert.Contains("Dedup.NoSuchMessage", error.Message);
    }
}
