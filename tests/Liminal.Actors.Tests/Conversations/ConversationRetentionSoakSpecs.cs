using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>
/// The bounded soak of issue 13: one conversation works through 20,000 messages while the clock moves on, and the
/// message ids it holds (in its state, in its snapshots, after a restart) stay at what the retention covers.
/// </summary>
public sealed class ConversationRetentionSoakSpecs(ITestOutputHelper output) : LiminalTestKit
{
    private const int Rounds = 40;
    private const int MessagesPerRound = 500;
    private const int RoundsPerRetention = 4;
    private const int Bound = RoundsPerRetention * MessagesPerRound;
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    private static string Id(int round, int i) => $"m-{round:D3}-{i:D3}";

    [Fact]
    public void A_conversation_working_through_20000_messages_holds_no_more_message_ids_than_its_retention_covers()
    {
        var settings = DefaultSettings with { ConversationRetention = Retention, SnapshotEvery = 1_000 };
        var conversations = LiminalBus.Start(Sys, settings).Conversations;
        long lastSnapshotChecked = 0;
        var snapshotsChecked = 0;
        for (var round = 0; round < Rounds; round++)
        {
            if (round > 0)
                Clock.Advance(Retention / RoundsPerRetention);
            // A round's messages go in without waiting (each message's records queue behind its receive), at one time.
            for (var i = 0; i < MessagesPerRound; i++)
            {
                conversations.Tell(new ReceiveMessage("soak", Id(round, i)), TestActor);
                conversations.Tell(new RecordStepCompleted("soak", Id(round, i), 0, new byte[64]), TestActor);
                conversations.Tell(new RecordProcessingFinished("soak", Id(round, i)), TestActor);
            }
            var replies = ReceiveN(3 * MessagesPerRound, TimeSpan.FromSeconds(60));
            Assert.Equal(MessagesPerRound, replies.OfType<RedeliveryDecision.Start>().Count());
            Assert.Equal(2 * MessagesPerRound, replies.OfType<EventRecorded>().Count());
            if (round % 2 != 1)
                continue;

            // What the conversation answers: exactly the messages of the last 4 rounds (the older ones are new again).
            var state = Ask<ConversationSnapshot>(conversations, new GetConversationState("soak"));
            Assert.Equal(Math.Min(round + 1, RoundsPerRetention) * MessagesPerRound, state.Received.Length);
            Assert.Equal(state.Received.Length, state.Finished.Length);
            // What it holds: each receive drops what is past the retention, so its snapshots never hold more.
            if (SnapshotReading.Latest<ConversationStateSnapshot>(Sys, DatabasePath, "conversation-soak") is var (sequenceNr, snapshot)
                && sequenceNr > lastSnapshotChecked)
            {
                Assert.InRange(snapshot.Messages.Length, 1, Bound);
                (lastSnapshotChecked, snapshotsChecked) = (sequenceNr, snapshotsChecked + 1);
            }
            if (round % 10 == 9)
                output.WriteLine($"after {(round + 1) * MessagesPerRound:N0} messages: {state.Received.Length:N0} message ids retained, " +
                                 $"latest snapshot holds {SnapshotReading.Latest<ConversationStateSnapshot>(Sys, DatabasePath, "conversation-soak")?.Snapshot.Messages.Length:N0}; " +
                                 $"managed heap {GC.GetTotalMemory(forceFullCollection: true) / (1024.0 * 1024.0):F1} MiB");
        }
        Assert.True(snapshotsChecked >= 10, $"only {snapshotsChecked} snapshots were checked");
        var before = Ask<ConversationSnapshot>(conversations, new GetConversationState("soak"));
        Assert.Equal(Bound, before.Received.Length);
        Shutdown(Sys);

        // A new process recovers (snapshot + events) the same bounded state and the same redelivery horizon.
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings).Conversations;
            var probe = CreateTestProbe(restarted);
            Assert.Equal(before, Ask<ConversationSnapshot>(recovered, new GetConversationState("soak"), probe));
            Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("soak", Id(Rounds - RoundsPerRetention, 0)), probe));
            Assert.Equal(new RedeliveryDecision.Start(), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("soak", Id(Rounds - RoundsPerRetention - 1, 0)), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
