namespace Liminal.Actors;

/// <summary>The configuration is invalid; <see cref="Problems"/> lists every problem found, each with its key.</summary>
public sealed class LiminalConfigurationException(IReadOnlyList<string> problems)
    : Exception("Invalid Liminal configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
