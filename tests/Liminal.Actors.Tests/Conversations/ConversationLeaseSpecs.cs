using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>
/// SPEC §2.3's lease: a delivery that receives a message holds it for <c>liminal.conversations.lease</c>, renewed by
/// each record for it; meanwhile a redelivery answers <c>InProgress</c> instead of a second Start or ResumeFrom.
/// </summary>
public sealed class ConversationLeaseSpecs : LiminalTestKit
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private IActorRef StartConversations() => LiminalBus.Start(Sys, DefaultSettings with { ConversationLease = Lease }).Conversations;

    private long InMillis(TimeSpan fromNow) => Clock.GetUtcNow().Add(fromNow).ToUnixTimeMilliseconds();

    [Fact]
    public void A_redelivery_while_the_first_delivery_holds_the_lease_is_InProgress_and_persists_nothing()
    {
        var conversations = StartConversations();
        var leaseEnd = InMillis(Lease);
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        var rows = JournalRows("conversation-c");

        Clock.Advance(Lease - TimeSpan.FromMilliseconds(1));

        Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        Assert.Equal(rows, JournalRows("conversation-c"));
    }

    [Fact]
    public void Each_record_renews_the_lease_and_once_it_runs_out_one_redelivery_resumes_and_holds_it()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Clock.Advance(TimeSpan.FromSeconds(20));
        Ask<EventRecorded>(conversations, new RecordProcessingStarted("c", "m"));
        Clock.Advance(TimeSpan.FromSeconds(20));
        var renewedUntil = InMillis(Lease);
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [1]));

        // 69 s after the receive (its own lease ran out at 30 s), 29 s after the last record: still held.
        Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(new RedeliveryDecision.InProgress(renewedUntil), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));

        // The runner stopped recording (it died): the lease runs out and the next redelivery resumes, taking the lease.
        Clock.Advance(TimeSpan.FromSeconds(1));
        var resumedUntil = InMillis(Lease);
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        Assert.Equal(new RedeliveryDecision.InProgress(resumedUntil), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
    }

    [Fact]
    public void An_error_ends_the_lease_so_a_redelivery_resumes_at_once_and_the_finish_makes_it_Skip()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [1]));

        // The runner that records an error has stopped (StepRunOutcome.Failed): nobody holds the message.
        Ask<EventRecorded>(conversations, new RecordError("c", "m", "payment gateway timed out"));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));

        Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", "m"));
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
    }

    [Fact]
    public void Concurrent_redeliveries_of_one_message_get_one_Start_and_the_rest_InProgress()
    {
        var conversations = StartConversations();
        var probes = Enumerable.Range(0, 20).Select(_ => CreateTestProbe()).ToList();

        foreach (var probe in probes)
            conversations.Tell(new ReceiveMessage("c", "m"), probe.Ref);

        var decisions = probes.Select(p => p.ExpectMsg<RedeliveryDecision>()).ToList();
        Assert.Single(decisions.OfType<RedeliveryDecision.Start>());
        Assert.Equal(19, decisions.OfType<RedeliveryDecision.InProgress>().Count());
    }

    [Fact]
    public void A_lease_taken_by_a_resume_survives_a_restart_of_the_bus()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [1]));
        Clock.Advance(Lease);
        var leaseEnd = InMillis(Lease);
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, DefaultSettings with { ConversationLease = Lease }).Conversations;
            var probe = CreateTestProbe(restarted);
            Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("c", "m"), probe));
            Clock.Advance(Lease);
            Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("c", "m"), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void GetStepOutput_answers_one_recorded_output_and_refuses_what_it_cannot_answer()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [1, 2]));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 1, [3]));
        var rows = JournalRows("conversation-c");

        Assert.Equal(new StepOutput("c", "m", 0, [1, 2]), Ask<StepOutput>(conversations, new GetStepOutput("c", "m", 0)));
        Assert.Equal(new StepOutput("c", "m", 1, [3]), Ask<StepOutput>(conversations, new GetStepOutput("c", "m", 1)));
        Assert.Equal(new StepOutput("c", "m", 2, null), Ask<StepOutput>(conversations, new GetStepOutput("c", "m", 2)));
        Assert.Equal(ConversationRejections.NotReceived, Ask<ConversationRejected>(conversations, new GetStepOutput("c", "ghost", 0)).Reason);
        Assert.Equal(ConversationRejections.NegativeStepIndex, Ask<ConversationRejected>(conversations, new GetStepOutput("c", "m", -1)).Reason);
        Assert.Equal(ConversationRejections.InvalidMessageId, Ask<ConversationRejected>(conversations, new GetStepOutput("c", "", 0)).Reason);
        Assert.Equal(rows, JournalRows("conversation-c"));
    }
}
