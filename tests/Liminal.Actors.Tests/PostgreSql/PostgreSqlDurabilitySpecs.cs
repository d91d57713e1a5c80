using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.PostgreSql;

/// <summary>The durability specs of every actor family, against PostgreSQL: write, terminate, restart, compare.</summary>
public sealed class PostgreSqlDurabilitySpecs : PostgreSqlTestKit
{
    private LiminalSettings Settings => DefaultSettings with
    {
        DedupNamespace = Unique,
        DedupShards = 4,
        Channels = [new ChannelDefinition($"{Unique}-orders", Durable: true)],
    };

    [SkippableFact]
    public void Keys_conversations_channels_and_offsets_survive_a_restart_on_PostgreSQL()
    {
        RequireServer();
        var receipt = new ProcessingReceipt("done"u8.ToArray());
        var channel = $"{Unique}-orders";
        var conversation = $"{Unique}-c";
        var bus = LiminalBus.Start(Sys, Settings);

        Ask<DedupDecision.Claimed>(bus.Dedup, new ClaimOrGet("completed"));
        Ask<ReceiptStored>(bus.Dedup, new CompleteReceipt("completed", receipt));
        Ask<DedupDecision.Claimed>(bus.Dedup, new ClaimOrGet("in-flight"));
        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage(conversation, "m"));
        Ask<EventRecorded>(bus.Conversations, new RecordStepCompleted(conversation, "m", 0, [7]));
        foreach (var key in new[] { "p1", "p2" })
            Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "pg"), $"{Unique}-{key}"));
        Ask<OffsetCommitted>(bus.Offsets, new CommitOffset($"{Unique}-consumer", channel, 1));
        var conversationBefore = Ask<ConversationSnapshot>(bus.Conversations, new GetConversationState(conversation));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);

            Assert.Equal(new DedupDecision.Completed(receipt), Ask<DedupDecision>(recovered.Dedup, new ClaimOrGet("completed"), probe));
            Assert.IsType<DedupDecision.InFlight>(Ask<DedupDecision>(recovered.Dedup, new ClaimOrGet("in-flight"), probe));
            Assert.Equal(conversationBefore, Ask<ConversationSnapshot>(recovered.Conversations, new GetConversationState(conversation), probe));
            // The lease the step renewed survived the restart; once it runs out, the message resumes after the step.
            Assert.IsType<RedeliveryDecision.InProgress>(Ask<RedeliveryDecision>(recovered.Conversations, new ReceiveMessage(conversation, "m"), probe));
            Clock.Advance(DefaultSettings.ConversationLease);
            Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(recovered.Conversations, new ReceiveMessage(conversation, "m"), probe));
            Assert.True(Ask<PublishAck>(recovered.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "pg"), $"{Unique}-p1"), probe).Duplicate);
            Assert.Equal(3, Ask<PublishAck>(recovered.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "pg")), probe).SequenceNr);
            recovered.Channels.Tell(new Replay(channel, 0, 2, probe.Ref), probe.Ref);
            Assert.Equal([2L, 3L], probe.ReceiveN(2).Cast<Delivery>().Select(d => d.SequenceNr!.Value));
            Assert.Equal(3, probe.ExpectMsg<ReplayCompleted>().LastSequenceNr);
            Assert.Equal(1, Ask<CurrentOffset>(recovered.Offsets, new GetOffset($"{Unique}-consumer", channel), probe).Offset);
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
