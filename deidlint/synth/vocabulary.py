"""The true values behind the traces: names, places, languages, date formats."""

from __future__ import annotations

from deidlint.synth.templates import fill

# Names are common US surnames and given names; places are invented. None of it
# refers to a real patient, and phone numbers use the fictional 555 exchange.

SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Murphy",
    "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Kelly", "Howard",
    "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes",
    "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry",
    "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes", "Fisher", "Olsen",
)
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
    "Mark", "Sandra", "Paul", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Kevin",
    "Donna", "Brian", "Michelle", "George", "Carol", "Edward", "Amanda", "Ronald", "Melissa",
    "Timothy", "Deborah", "Jason", "Laura", "Jeffrey", "Rebecca", "Ryan", "Sharon", "Gary",
    "Cynthia", "Eric", "Kathleen", "Stephen", "Amy", "Jacob", "Angela", "Priya", "Wei", "Omar",
)
PLACES = fill(
    "{Lakeside|Riverside|Northfield|Maple Grove|Cedar Valley|Harbor View|Westbrook|Pine Ridge|"
    "Fairmont|Brookhaven|Stonegate|Oakwood|Hillcrest|Elmhurst|Willow Creek} "
    "{General Hospital|Medical Center|Community Hospital|Clinic}",
    "St. {Agnes|Brendan|Clare|Jude|Luke|Mark} {Hospital|Medical Center}",
)
LANGUAGES = ("Portuguese", "Cantonese", "Russian", "Haitian Creole", "Spanish", "Vietnamese",
              "Mandarin", "Arabic", "Polish", "Somali")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


#: Original date formats; a report's author uses one throughout.
DATE_FORMATS = ("{m:02d}/{d:02d}/{y}", "{m}/{d}/{y}", "{y}-{m:02d}-{d:02d}", "{month} {d}, {y}",
                 "{m}/{d}/{yy:02d}")
