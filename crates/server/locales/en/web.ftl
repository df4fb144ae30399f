brand = openforest
tagline = Green energy from low-carbon living grows real trees.
skip-to-content = Skip to content
signout = Sign out
language = Language
language-apply = Change
language-name = English
error-title = Something went wrong
error-back = Back to my forest
error-csrf = This form has expired. Reload the page and try again.
error-signin = Please sign in again.
error-forbidden = You cannot do that.
error-not-found = That is not here (any more).
error-conflict = That cannot be done now: it may be collected already, not ripe yet or expired.
error-too-fast = Too fast! Wait a moment and try again.
error-internal = The server ran into a problem. Please try again later.
error-language = That language is not available.
signin-title = Sign in
signup-title = Create an account
handle = Handle
handle-hint = 3 to 32 characters: letters, digits, _ . -
password = Password
password-hint = At least 8 characters.
signin-submit = Sign in
signup-submit = Create account
signin-instead = I already have an account
signup-instead = New here? Create an account
signin-wrong = The handle or the password is wrong.
signup-bad-password = A password has 8 to 256 characters.
signup-bad-handle = A handle has 3 to 32 characters: letters, digits, _ . -
signup-taken = That handle is taken. Try another.
forest-title = My forest
wallet = My green energy
grams = { $grams } g
ripe-total = { $grams } g ripe
tree-progress = { $percent }% of the way to the next tree ({ $goal } g)
trees-ready = { $count ->
    [one] Enough energy to plant a tree!
   *[other] Enough energy to plant { $count } trees!
}
tree-alt = My tree, { $percent }% grown towards the next planting
ball-collect = Collect { $grams } g
ball-ripens-in = Ripens in { $time }
balls-more = { $count ->
    [one] and 1 more ball
   *[other] and { $count } more balls
}
collect-all = Collect all
nothing-ripe = Nothing is ripe yet. Low-carbon actions grow new energy.
nav-label = Pages
nav-forest = Forest
nav-friends = Friends
nav-plant = Plant
nav-certificates = My trees
nav-feed = Feed
nav-rankings = Rankings
nav-props = Props
nav-album = Species
nav-impact = Impact
nav-verify = Verify
nav-ngo = NGO portal
nav-admin = Admin
today-title = Today
today-none = No new energy yet today.
