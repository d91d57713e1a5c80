namespace Liminal.Actors.Entities;

/// <summary>Asks an entity parent how many entities are running and how many are away (passivating or restarting).</summary>
public sealed record GetEntityStats : ILiminalMessage
{
    public static GetEntityStats Instance { get; } = new();
}

/// <summary>The answer to <see cref="GetEntityStats"/>.</summary>
public sealed record EntityStats(int Live, int Away) : ILiminalMessage;
