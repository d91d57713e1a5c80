using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// PersistentEntity's promise: "a write the journal rejects (nothing stored) fails only its own commands and the entity
/// carries on". Here a second command of the same key waits behind the write that gets rejected; after the rejection
/// it is decided (inside OnPersistRejected) and must be written and answered like any other command — with no other
/// message arriving to nudge the entity.
/// </summary>
public sealed class RejectedWriteAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Dedup_claim_waiting_behind_a_rejected_claim_of_the_same_key_is_answered()
    {
        var settings = new DedupShardSettings("attack", new DedupPolicy(TimeSpan.FromHours(1), 1_000), TimeSpan.FromHours(1), 1_000, Clock);
        var shard = Sys.ActorOf(DedupShard.Props(settings, 0));
        shard.Tell(new LookupKey("warm-up"));
        ExpectMsg<KeyStatus>();

        var gated = new GatedFirstWrite(p => p is KeyClaimed, reject: true);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        shard.Tell(new ClaimOrGet("k"), first.Ref);
        shard.Tell(new ClaimOrGet("k"), second.Ref);   // same key: waits for the first write
        await gated.Held.Task.WaitAsync(Patience);
        gated.Gate.SetResult();

        Assert.Equal(DedupRejection.PersistFailed, first.ExpectMsg<DedupRejected>(Patience).Reason);
        // Nothing was stored for "k": the waiting claim is decided against the durable state and wins.
        second.ExpectMsg<DedupDecision.Claimed>(Patience);
    }

    [Fact]
    public async Task Conversation_receive_waiting_behind_a_rejected_receive_of_the_same_message_is_answered()
    {
        var settings = new ConversationSettings(new ConversationPolicy(1_000), TimeSpan.FromHours(1), 1_000, Clock);
        var conversation = Sys.ActorOf(Conversation.Props("c1", settings));
        conversation.Tell(new GetConversationState("c1"));
        ExpectMsg<ConversationSnapshot>();

        var gated = new GatedFirstWrite(p => p is MessageReceived, reject: true);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        conversation.Tell(new ReceiveMessage("c1", "m"), first.Ref);
        conversation.Tell(new ReceiveMessage("c1", "m"), second.Ref);
        await gated.Held.Task.WaitAsync(Patience);
        gated.Gate.SetResult();

        Assert.Equal(ConversationRejections.PersistFailed, first.ExpectMsg<ConversationRejected>(Patience).Reason);
        second.ExpectMsg<RedeliveryDecision.Start>(Patience);
    }

    [Fact]
    public async Task Offset_commit_waiting_behind_a_rejected_commit_of_the_same_stream_is_answered()
    {
        var offsets = Sys.ActorOf(ConsumerOffsets.Props("consumer", new OffsetsSettings(1_000, TimeSpan.FromHours(1), TimeSpan.FromDays(7), Clock)));
        offsets.Tell(new GetOffset("consumer", "s"));
        ExpectMsg<CurrentOffset>();

        var gated = new GatedFirstWrite(p => p is OffsetAdvanced, reject: true);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        offsets.Tell(new CommitOffset("consumer", "s", 5), first.Ref);
        offsets.Tell(new CommitOffset("consumer", "s", 6), second.Ref);
        await gated.Held.Task.WaitAsync(Patience);
        gated.Gate.SetResult();

        first.ExpectMsg<OffsetRequestRejected>(Patience);
        second.ExpectMsg<OffsetCommitted>(Patience);
        offsets.Tell(new GetOffset("consumer", "s"));
        Assert.Equal(6, ExpectMsg<CurrentOffset>(Patience).Offset);
    }
}
